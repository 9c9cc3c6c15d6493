import "server-only";
import { errorResponse } from "@/lib/api/errors";
import { createLogger } from "@/lib/log";
import { runtime } from "@/lib/server/runtime";

type Handler<A extends unknown[]> = (request: Request, ...rest: A) => Promise<Response>;

/** Maps thrown ApiErrors to the one error shape. It does nothing else: guards are called by the handler. */
export function handleErrors<A extends unknown[]>(handler: Handler<A>): Handler<A> {
  return async (request, ...rest) => {
    try {
      return await handler(request, ...rest);
    } catch (error) {
      return errorResponse(error, requestLogger(), { method: request.method, path: new URL(request.url).pathname });
    }
  };
}

/** The runtime's logger; if the runtime itself cannot be built (a bad environment), a plain one, so the cause is still logged. */
function requestLogger() {
  try {
    return runtime().logger;
  } catch {
    return createLogger({ level: "error" });
  }
}
