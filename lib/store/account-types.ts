import "server-only";

// The store's records of accounts: users, their API tokens and OAuth links, and the webhook
// deliveries already processed (re-exported by lib/store/types.ts). Cold paths, written only here.

/** A new email-and-password user (sign-up). */
export interface NewPasswordUser {
  email: string;
  passwordHash: string;
  name?: string;
}

/** A new user signing in with an OAuth provider, and the account that links them, written in one transaction. */
export interface NewOAuthUser {
  email: string;
  name: string | null;
  image: string | null;
  account: { provider: string; providerAccountId: string; type: string };
}

/** A new API token: only the SHA-256 of the token is stored, with its first characters to tell tokens apart. */
export interface NewApiToken {
  userId: string;
  name: string;
  prefix: string;
  tokenHash: string;
}

/** An API token as the settings page lists it (never the token or its hash). */
export interface ApiTokenRecord {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}
