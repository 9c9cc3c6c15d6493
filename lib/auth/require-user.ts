import { ApiError } from "@/lib/api/errors";
import { db } from "@/lib/db/client";
import { findUserByToken } from "@/lib/auth/tokens";

export interface AuthenticatedUser {
  id: string;
  email: string;
}

/** Authenticates an API request by its Bearer token; throws a 401 ApiError otherwise. */
export async function requireUser(request: Request): Promise<AuthenticatedUser> {
  const header = request.headers.get("authorization");
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (match) {
    const user = await findUserByToken(db(), match[1]!);
    if (user) return { id: user.id, email: user.email };
    throw new ApiError("unauthorized", "The API token is invalid or revoked.", { "WWW-Authenticate": 'Bearer error="invalid_token"' });
  }
  throw new ApiError("unauthorized", "Sign in or send an API token: Authorization: Bearer <token>.", { "WWW-Authenticate": "Bearer" });
}
