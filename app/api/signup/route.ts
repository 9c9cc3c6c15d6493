import { ApiError } from "@/lib/api/errors";
import { assertSameOrigin } from "@/lib/auth/require-user";
import { createPasswordUser, signUpSchema } from "@/lib/auth/passwords";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/** Creates an email-and-password account; the page then signs in through next-auth. */
export const POST = handleErrors(async (request: Request) => {
  assertSameOrigin(request);
  const body: unknown = await request.json().catch(() => {
    throw new ApiError("invalid_json", "The body must be JSON: {\"email\", \"password\", \"name\"?}.");
  });
  const input = signUpSchema.safeParse(body);
  if (!input.success) throw new ApiError("invalid_input", input.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join(" "));
  const user = await createPasswordUser(runtime().prisma, input.data);
  return Response.json({ success: true, user }, { status: 201 });
});
