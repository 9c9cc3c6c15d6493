import "server-only";

/** Who a request is from, as authentication reads it (lib/auth): an API token's user, or the web session's. */
export interface AuthUser {
  id: string;
  email: string;
  name: string | null;
}

/** A user as the password routes read it: with the hash sign-in checks (null when the user has no password). */
export interface PasswordUser extends AuthUser {
  passwordHash: string | null;
}
