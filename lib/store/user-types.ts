import "server-only";

/** Who a request is from, as authentication reads it (lib/auth): an API token's user, or the web session's. */
export interface AuthUser {
  id: string;
  email: string;
  name: string | null;
}
