import { ApiError } from "@/lib/api/errors";
import { handleErrors } from "@/lib/server/http";

export const dynamic = "force-dynamic";

/** Where requests whose path does not decode are sent (lib/server/http-guard.ts): 400 in the error shape. */
const refuse = handleErrors(async () => {
  throw new ApiError("invalid_request", "The request path is not valid percent-encoding.");
});

export { refuse as GET, refuse as POST, refuse as PUT, refuse as DELETE, refuse as PATCH, refuse as HEAD, refuse as OPTIONS };
