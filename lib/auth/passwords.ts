import "server-only";
import bcrypt from "bcryptjs";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import type { AuthThrottle } from "@/lib/auth/throttle";
import type { Db } from "@/lib/db/client";

/**
 * Email-and-password accounts: the embedded-default sign-in, which needs no outside service.
 * Passwords are hashed with bcrypt at cost 12 (about a quarter of a second here), so a stolen
 * users table is slow to attack. bcrypt reads at most 72 bytes; longer passwords are refused
 * rather than silently truncated.
 */
export const BCRYPT_COST = 12;
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

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, BCRYPT_COST);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

// Compared against when the email is unknown, so a miss costs as long as a wrong password and
// response times do not reveal which emails have accounts.
let dummyHash: Promise<string> | undefined;

/** The user these credentials belong to, or null. */
export async function verifyCredentials(
  database: Db,
  throttle: Pick<AuthThrottle, "hashOneAtATime">,
  input: unknown,
): Promise<{ id: string; email: string; name: string | null } | null> {
  const parsed = credentialsSchema.safeParse(input);
  if (!parsed.success) return null;
  const { email, password } = parsed.data;
  const user = await database.user.findUnique({ where: { email }, select: { id: true, email: true, name: true, passwordHash: true } });
  if (!user?.passwordHash) {
    dummyHash ??= hashPassword("montage-timing-equaliser");
    const equaliser = await dummyHash;
    await throttle.hashOneAtATime(() => verifyPassword(password, equaliser));
    return null;
  }
  const hash = user.passwordHash;
  if (!(await throttle.hashOneAtATime(() => verifyPassword(password, hash)))) return null;
  return { id: user.id, email: user.email, name: user.name };
}

/**
 * POST /api/signup: the sign-up limits first (before anything is hashed), then the account. Bad
 * input is a 422 naming the fields.
 */
export async function signUp(deps: { prisma: Db; authThrottle: AuthThrottle }, address: string, body: unknown): Promise<{ id: string; email: string }> {
  deps.authThrottle.requireAttempt(address, attemptEmail(body));
  const input = signUpSchema.safeParse(body);
  if (!input.success) throw new ApiError("invalid_input", input.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join(" "));
  return createPasswordUser(deps.prisma, deps.authThrottle, input.data);
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
export async function createPasswordUser(
  database: Db,
  throttle: Pick<AuthThrottle, "hashOneAtATime">,
  input: z.infer<typeof signUpSchema>,
): Promise<{ id: string; email: string }> {
  // Looked up before hashing: a sign-up for a taken email must cost no CPU.
  const existing = await database.user.findUnique({ where: { email: input.email }, select: { id: true } });
  if (existing) throw new ApiError("wrong_state", "An account with this email already exists. Sign in instead.");
  const passwordHash = await throttle.hashOneAtATime(() => hashPassword(input.password));
  try {
    return await database.user.create({
      data: { email: input.email, passwordHash, ...(input.name && { name: input.name }) },
      select: { id: true, email: true },
    });
  } catch (error) {
    // Two sign-ups with one email at once: the unique index decides.
    if ((error as { code?: unknown }).code === "P2002") {
      throw new ApiError("wrong_state", "An account with this email already exists. Sign in instead.");
    }
    throw error;
  }
}
