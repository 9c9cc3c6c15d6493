import "server-only";
import type { AuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import GitHubProvider from "next-auth/providers/github";
import type { Config } from "@/lib/config";
import type { Store } from "@/lib/store/types";
import type { Logger } from "@/lib/log";
import { isApiError } from "@/lib/api/errors";
import { attemptEmail, verifyCredentials } from "@/lib/auth/passwords";
import { signInErrorCode } from "@/lib/auth/sign-in-guard";
import type { PasswordHasher } from "@/lib/auth/password-hasher";
import type { AuthThrottle } from "@/lib/auth/throttle";

/**
 * next-auth for the web app, sharing the `users` table with API tokens. Sessions are JWTs (an
 * encrypted cookie) whose `sub` is Montage's user id; no session table. Email and password always
 * works; GitHub switches on when GITHUB_ID and GITHUB_SECRET are set (then set NEXTAUTH_URL too,
 * it is the base of the OAuth callback URL).
 */

const SESSION_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;

export function githubEnabled(cfg: Config): boolean {
  return Boolean(cfg.GITHUB_ID && cfg.GITHUB_SECRET);
}

export interface AuthDeps {
  config: Config;
  /** Reads and writes the signing-in user (password and OAuth accounts). */
  store: Pick<Store, "findPasswordUser" | "insertPasswordUser" | "replacePasswordHash" | "findOAuthUserId" | "insertOAuthUser">;
  logger: Logger;
  secret: string;
  secureCookies: boolean;
  /** Told of each credentials sign-in's outcome: failures slow the account down. */
  authThrottle: AuthThrottle;
  passwordHasher: PasswordHasher;
}

/** The runtime builds these on first use, not at import: `next build` loads route modules and must not create the secret file. */
export function buildAuthOptions(deps: AuthDeps): AuthOptions {
  const { config: cfg, store, logger: log } = deps;
  const providers: AuthOptions["providers"] = [
    CredentialsProvider({
      id: "credentials",
      name: "Email and password",
      credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
      authorize: async (credentials) => {
        let user;
        try {
          user = await verifyCredentials({ store, passwordHasher: deps.passwordHasher }, credentials);
        } catch (error) {
          // The pool filled up after the guard let this request in: next-auth puts a thrown
          // error's message in the sign-in page's ?error=, which shows ServerBusy's text.
          if (isApiError(error)) throw new Error(signInErrorCode(error.code), { cause: error });
          throw error;
        }
        const email = attemptEmail(credentials);
        if (email) {
          if (user) deps.authThrottle.recordSuccess(email);
          else deps.authThrottle.recordFailure(email);
        }
        return user;
      },
    }),
  ];
  if (githubEnabled(cfg)) {
    providers.push(GitHubProvider({ clientId: cfg.GITHUB_ID!, clientSecret: cfg.GITHUB_SECRET! }));
    if (!cfg.NEXTAUTH_URL) log.warn("GitHub sign-in is on but NEXTAUTH_URL is unset: the OAuth callback URL will be wrong");
  }
  return {
    secret: deps.secret,
    useSecureCookies: deps.secureCookies,
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_SECONDS },
    pages: { signIn: "/signin", error: "/signin" },
    providers,
    callbacks: {
      async signIn({ user, account }) {
        if (!account || account.provider === "credentials") return true;
        const userId = await userIdForOAuthAccount(store, account.provider, account.providerAccountId, account.type, user);
        return userId ? true : "/signin?error=OAuthAccountNotLinked";
      },
      async jwt({ token, user, account }) {
        // Runs with `account` only at sign-in; later calls keep the token as it is.
        if (account && user) {
          token.sub =
            account.provider === "credentials"
              ? user.id
              : await store.findOAuthUserId(account.provider, account.providerAccountId);
        }
        return token;
      },
    },
    logger: {
      error: (code, metadata) => log.error("next-auth error", { code, err: metadata instanceof Error ? metadata : metadata.error }),
      // NEXTAUTH_URL only matters for OAuth redirects, warned about above; the others are worth seeing.
      warn: (code) => (code === "NEXTAUTH_URL" ? undefined : log.warn("next-auth warning", { code })),
      debug: (code) => log.debug("next-auth debug", { code }),
    },
  };
}

/**
 * Montage's user for an OAuth account: the linked one, or a new user when the email is new. An
 * existing email is not linked automatically: the provider's email is not proof of owning that
 * Montage account (next-auth's OAuthAccountNotLinked rule).
 */
async function userIdForOAuthAccount(
  store: AuthDeps["store"],
  provider: string,
  providerAccountId: string,
  type: string,
  profile: { email?: string | null; name?: string | null; image?: string | null },
): Promise<string | null> {
  const linked = await store.findOAuthUserId(provider, providerAccountId);
  if (linked) return linked;
  const email = profile.email?.trim().toLowerCase();
  if (!email) return null;
  if (await store.findPasswordUser(email)) return null;
  // An email taken meanwhile is refused as one taken before (the unique index decides).
  return (await store.insertOAuthUser({ email, name: profile.name ?? null, image: profile.image ?? null, account: { provider, providerAccountId, type } })) ?? null;
}
