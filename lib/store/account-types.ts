import "server-only";
import type { AuthUser, PasswordUser } from "@/lib/store/user-types";

// The store's part for accounts: users, their API tokens and OAuth links, and the webhook deliveries
// already processed (re-exported by lib/store/types.ts, whose Store extends AccountStore).

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

/** The store's part for accounts (lib/auth, the token CLI, the Replicate webhook receiver); the Store interface extends it. */
export interface AccountStore {
  // ---- authentication (lib/auth): read on every API request
  /**
   * The user of the API token whose SHA-256 this is, unless the token is revoked. Marks the token
   * used at `now` when its last use is older than `touchAfterMs` (or never), so that authenticating
   * costs no write per request.
   */
  findTokenUser(tokenHash: string, now: Date, touchAfterMs: number): Promise<AuthUser | undefined>;
  /** A user by id (the web session checks that its user still exists). */
  readUser(userId: string): Promise<AuthUser | undefined>;
  /**
   * A user by normalised email, with the password hash (null for token-only and OAuth users): what
   * sign-in verifies and sign-up refuses before it hashes anything.
   */
  findPasswordUser(email: string): Promise<PasswordUser | undefined>;

  // ---- accounts (lib/auth, the token CLI, the Replicate webhook receiver): cold paths, written here only
  /** A sign-up's user; undefined when the email is taken (the unique index decides between racing sign-ups). */
  insertPasswordUser(user: NewPasswordUser): Promise<{ id: string; email: string } | undefined>;
  /** Replaces a user's password hash only while it is still `oldHash` (a password changed meanwhile wins); whether it did. */
  replacePasswordHash(userId: string, oldHash: string, newHash: string): Promise<boolean>;
  /** The user with this email, created without a password when there is none (npm run token:create). */
  ensureUser(email: string): Promise<AuthUser>;
  /** The user an OAuth account is linked to. */
  findOAuthUserId(provider: string, providerAccountId: string): Promise<string | undefined>;
  /** A new user and its OAuth account in one transaction; undefined (and nothing written) when the email is taken. */
  insertOAuthUser(user: NewOAuthUser): Promise<string | undefined>;
  insertApiToken(token: NewApiToken): Promise<ApiTokenRecord>;
  /** A user's API tokens, revoked ones too, newest first. */
  listApiTokens(userId: string): Promise<ApiTokenRecord[]>;
  /** Revokes one of the user's tokens at `now`; false when it is not theirs or already revoked. */
  revokeApiToken(userId: string, tokenId: string, now: Date): Promise<boolean>;
  /** Records an incoming webhook delivery's id: true when it is new, false when it was recorded before. */
  claimWebhookDelivery(id: string, source: string, now: Date): Promise<boolean>;
  /** Forgets a delivery whose processing failed, so that its retry is processed. */
  forgetWebhookDelivery(id: string): Promise<void>;
  /** Deletes a source's deliveries received before `before`; how many. */
  deleteWebhookDeliveries(source: string, before: Date): Promise<number>;
}
