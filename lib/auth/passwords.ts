import "server-only";
import { z } from "zod";
import { ApiError, isApiError } from "@/lib/api/errors";
import type { PasswordHasher } from "@/lib/auth/password-hasher";
import type { AuthThrottle } from "@/lib/auth/throttle";
import type { Store } from "@/lib/store/types";

/**
 * Email-and-password accounts: the embedded-default sign-in, which needs no outside service.
 * Passwords are hashed with scrypt in a pool of worker threads (lib/auth/password-hasher.ts), so a
 * stolen users table is slow to attack and the hashing never holds the event loop. Accounts made
 * before with bcrypt still sign in, and get a scrypt hash on their next successful sign-in.
 * Passwords stay limited to 72 bytes, the rule bcrypt needed (it read no further) and the one the
 * API documents; scrypt would take more.
 */
const MAX_PASSWORD_BYTES = 72;

export const passwordSchema = z
  .string()
  .min(8, "Use at least 8 characters.")
  .refine((value) => new TextEncoder().encode(value).length <= MAX_PASSWORD_BYTES, `Use at most ${MAX_PASSWORD_BYTES} bytes.`);

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email("Enter a valid email address.").max(254));

export const signUpSchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  name: z.string().trim().max(80).optional(),
});

export const credentialsSchema = z.object({
  email: emailSchema,
  password: z.string().min(1).max(1024),
});

/** What the password routes use: the store reads and writes the user. */
export interface PasswordDeps {
  store: Pick<Store, "findPasswordUser" | "insertPasswordUser" | "replacePasswordHash">;
  passwordHasher: PasswordHasher;
}

/**
 * The user these credentials belong to, or null. An unknown email is checked against a hash that
 * never matches, so a miss costs as long as a wrong password and response times do not reveal
 * which emails have accounts. A legacy (bcrypt) hash that matched is replaced by a scrypt one.
 * Throws 503 `server_busy` when the hashing pool is full.
 */
export async function verifyCredentials(deps: PasswordDeps, input: unknown): Promise<{ id: string; email: string; name: string | null } | null> {
  const parsed = credentialsSchema.safeParse(input);
  if (!parsed.success) return null;
  const { email, password } = parsed.data;
  const hasher = deps.passwordHasher;
  const user = await deps.store.findPasswordUser(email);
  if (!user?.passwordHash) {
    await hasher.verifyNothing(password);
    return null;
  }
  const { ok, rehash } = await hasher.verify(password, user.passwordHash);
  if (!ok) return null;
  if (rehash) await upgradeHash(deps.store, hasher, user.id, user.passwordHash, password);
  return { id: user.id, email: user.email, name: user.name };
}

/**
 * Replaces a matched legacy hash, only if it is still the one checked (a password changed
 * meanwhile wins). Best effort: with the pool full the sign-in still succeeds and the next one
 * upgrades.
 */
async function upgradeHash(store: PasswordDeps["store"], hasher: PasswordHasher, userId: string, old: string, password: string): Promise<void> {
  let passwordHash: string;
  try {
    passwordHash = await hasher.hash(password);
  } catch (error) {
    if (isApiError(error) && error.code === "server_busy") return;
    throw error;
  }
  await store.replacePasswordHash(userId, old, passwordHash);
}

/**
 * POST /api/signup: the sign-up limits first (before anything is hashed), then the account. Bad
 * input is a 422 naming the fields.
 */
export async function signUp(deps: PasswordDeps & { authThrottle: AuthThrottle }, address: string, body: unknown): Promise<{ id: string; email: string }> {
  deps.authThrottle.requireAttempt(address, attemptEmail(body));
  const input = signUpSchema.safeParse(body);
  if (!input.success) throw new ApiError("invalid_input", input.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join(" "));
  return createPasswordUser(deps, input.data);
}

/** The normalised email of a sign-in or sign-up body, if it has a valid one: the key of its rate limits. */
export function attemptEmail(body: unknown): string | undefined {
  const email = (body as { email?: unknown } | null)?.email;
  const parsed = emailSchema.safeParse(email);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Creates an email-and-password user. An existing email is refused even when that user has no
 * password (created by the token CLI or by OAuth): setting one would hand the account to whoever
 * signs up first with that address.
 */
export async function createPasswordUser(deps: PasswordDeps, input: z.infer<typeof signUpSchema>): Promise<{ id: string; email: string }> {
  // Looked up before hashing: a sign-up for a taken email must cost no CPU.
  if (await deps.store.findPasswordUser(input.email)) throw new ApiError("wrong_state", "An account with this email already exists. Sign in instead.");
  const passwordHash = await deps.passwordHasher.hash(input.password);
  // Two sign-ups with one email at once: the unique index decides.
  const user = await deps.store.insertPasswordUser({ email: input.email, passwordHash, ...(input.name && { name: input.name }) });
  if (!user) throw new ApiError("wrong_state", "An account with this email already exists. Sign in instead.");
  return user;
}
