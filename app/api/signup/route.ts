import { answerSignUp } from "@/lib/auth/sign-up-request";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/**
 * Creates an email-and-password account; the page then signs in through next-auth. The production
 * server answers this path on its Node front (lib/server/node-sign-up.ts) with the same function.
 */
export const POST = handleErrors((request: Request) => answerSignUp(runtime(), request));
