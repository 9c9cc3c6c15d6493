import "server-only";
import path from "node:path";
import { z } from "zod";
import { resolveDatabase } from "@/lib/db/database-url";
import { TrustedProxies } from "@/lib/trusted-proxies";

/**
 * Montage's environment, parsed once at the edge into a typed config: the composition root
 * (lib/server/runtime.ts) calls loadConfig once per process. Nothing else reads process.env. Empty strings count as unset (a blank line in .env must not switch a mode on).
 */
const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().positive().default(3000),
  /** The app's public URL: used for absolute media URLs, sign-in redirects, the cross-site check and, with Replicate, for webhooks. */
  APP_URL: z.url().optional(),
  /**
   * Proxies in front of Montage whose X-Forwarded-For/-Host/-Proto are believed (IPs and CIDR
   * ranges, comma-separated). Unset: none; the client is the TCP peer.
   */
  TRUSTED_PROXIES: z.string().default(""),
  DATA_DIR: z.string().default("./data"),
  DATABASE_URL: z.string().optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),

  /**
   * The one knob of the retry path: the default of the four settings below. Each may be set on
   * its own; unset, it is this value.
   */
  WORKFLOW_RETRY_INTERVAL_SECONDS: z.coerce.number().positive().default(300),
  /** How often the in-process runner sweeps due retries and orphaned executions. */
  WORKFLOW_SWEEP_INTERVAL_SECONDS: z.coerce.number().positive().optional(),
  /** The first retry's delay; each later one doubles it (with jitter, up to an hour). */
  WORKFLOW_RETRY_BACKOFF_SECONDS: z.coerce.number().positive().optional(),
  /** How long a due job whose provider is still unhealthy waits before the sweep looks at it again. */
  PROVIDER_RECHECK_SECONDS: z.coerce.number().positive().optional(),
  /** The time between two waves of parked jobs released to a recovering provider. */
  PROVIDER_RECOVERY_WAVE_SECONDS: z.coerce.number().positive().optional(),
  WORKFLOW_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  /** Each user's monthly spending limit in USD (a calendar month, UTC); unset: no limit. A user may set a lower one. */
  USER_MONTHLY_BUDGET_USD: z.coerce.number().nonnegative().max(1_000_000).optional(),
  WORKFLOW_CONCURRENCY: z.coerce.number().int().min(1).default(4),
  /** Executions of one user's jobs run at once (in-process and under Inngest); unset: in-process only WORKFLOW_CONCURRENCY caps them, Inngest uses INNGEST_USER_CONCURRENCY. */
  WORKFLOW_USER_CONCURRENCY: z.coerce.number().int().min(1).optional(),
  WORKFLOW_LEASE_SECONDS: z.coerce.number().positive().default(30),
  WORKFLOW_SWEEP_BATCH: z.coerce.number().int().min(1).default(50),

  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(10 * 1024 * 1024),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(40_000_000),
  LOCAL_PROVIDER_FAULTS: z.string().default(""),
  /** An upload's whole body must arrive within this many seconds, or it is refused (408). */
  UPLOAD_BODY_TIMEOUT_SECONDS: z.coerce.number().positive().default(60),
  /** Upload bytes past this many go to a temporary file, not memory (a stalled upload pins at most this). */
  UPLOAD_SPILL_THRESHOLD_BYTES: z.coerce.number().int().min(0).default(64 * 1024),

  // Per-user rate limits, per process (lib/api/rate-limit.ts); 0 switches a limit off.
  /** Executions a user may start per minute (a token bucket of this size, refilled evenly). */
  RATE_LIMIT_EXECUTES_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  /** Event streams a user may hold open at once. */
  RATE_LIMIT_CONCURRENT_STREAMS: z.coerce.number().int().min(0).default(10),
  /** Uploads (POST /workflows/execute bodies) a user may have arriving at once. */
  RATE_LIMIT_CONCURRENT_UPLOADS: z.coerce.number().int().min(0).default(3),
  /** Sign-ups and sign-ins one client address may attempt per minute. */
  RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: z.coerce.number().int().min(0).default(20),
  /** Sign-ups and sign-ins for one email address per minute, from anywhere. */
  RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE: z.coerce.number().int().min(0).default(10),
  /** Failed sign-ins after which an account must wait before its next attempt (5 s, doubling with each further failure, up to 60 s). */
  SIGNIN_FAILURES_BEFORE_DELAY: z.coerce.number().int().min(0).default(3),
  /** Threads hashing passwords at once (lib/auth/password-hasher.ts); 0: one fewer than the cores, at least 1. */
  PASSWORD_HASH_THREADS: z.coerce.number().int().min(0).default(0),
  /** Password hashes allowed to wait for a thread; past that sign-ups and sign-ins get 503 with Retry-After. */
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).default(32),

  // Outgoing webhooks (lib/webhooks): retried with exponential backoff from the base, capped, for the window.
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().positive().default(5),
  WEBHOOK_RETRY_MAX_SECONDS: z.coerce.number().positive().default(3600),
  WEBHOOK_RETRY_WINDOW_SECONDS: z.coerce.number().positive().default(24 * 3600),
  /** One delivery attempt, connect to answer. */
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().positive().default(15),

  /**
   * Traces (lib/server/tracing.ts): each run, step and provider call is an OpenTelemetry span,
   * exported over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`, or to the traces endpoint as given.
   * Neither set: nothing is traced or exported.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("montage"),

  // Production providers: each switches on when its variable is set (docs/production.md).
  CLOUDINARY_URL: z.string().startsWith("cloudinary://").optional(),
  REPLICATE_API_TOKEN: z.string().optional(),
  REPLICATE_BASE_URL: z.url().default("https://api.replicate.com/v1"),
  REPLICATE_WEBHOOK_SECRET: z.string().startsWith("whsec_").optional(),
  REPLICATE_POLL_INTERVAL_MS: z.coerce.number().int().positive().default(2000),
  /** Comma-separated hosts Montage may download provider outputs from. */
  OUTPUT_FETCH_ALLOWED_HOSTS: z.string().default("replicate.delivery,*.replicate.delivery,res.cloudinary.com"),
  /** TEST ONLY: lets output downloads use plain http and loopback/private addresses (local fakes). */
  OUTPUT_FETCH_ALLOW_INSECURE: z.stringbool().default(false),
  /** auto: completion webhooks when APP_URL is https; on: whenever APP_URL is set; off: polling only. */
  REPLICATE_WEBHOOKS: z.enum(["auto", "on", "off"]).default("auto"),
  /** Steps a recovering provider gets in its first wave after its circuit closes (doubles per wave). */
  PROVIDER_RECOVERY_WAVE_SIZE: z.coerce.number().int().min(1).default(5),

  // Inngest: the Inngest driver is used when INNGEST_DEV is set or a key is (lib/engine/driver.ts).
  INNGEST_DEV: z.string().optional(),
  INNGEST_EVENT_KEY: z.string().optional(),
  INNGEST_SIGNING_KEY: z.string().optional(),
  INNGEST_SIGNING_KEY_FALLBACK: z.string().optional(),
  INNGEST_BASE_URL: z.url().optional(),
  /** Steps of one user's jobs that Inngest runs at once when WORKFLOW_USER_CONCURRENCY is unset (WORKFLOW_CONCURRENCY caps all users together). */
  INNGEST_USER_CONCURRENCY: z.coerce.number().int().min(1).default(2),
  WORKFLOW_RETRY_CRON: z.string().default("*/5 * * * *"),

  // Web sign-in (next-auth).
  NEXTAUTH_SECRET: z.string().min(16).optional(),
  NEXTAUTH_URL: z.url().optional(),
  GITHUB_ID: z.string().optional(),
  GITHUB_SECRET: z.string().optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  dataDir: string;
  database: ReturnType<typeof resolveDatabase>;
  publicBaseUrl: string;
  trustedProxies: TrustedProxies;
  sweepIntervalSeconds: number;
  retryBackoffSeconds: number;
  providerRecheckSeconds: number;
  recoveryWaveSeconds: number;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid environment:\n  ${problems.join("\n  ")}`);
  }
  const parsedEnv = parsed.data;
  const dataDir = path.resolve(parsedEnv.DATA_DIR);
  return {
    ...parsedEnv,
    dataDir,
    database: resolveDatabase(parsedEnv.DATABASE_URL, dataDir),
    trustedProxies: new TrustedProxies(parsedEnv.TRUSTED_PROXIES),
    publicBaseUrl: (parsedEnv.APP_URL ?? `http://localhost:${parsedEnv.PORT}`).replace(/\/$/, ""),
    sweepIntervalSeconds: parsedEnv.WORKFLOW_SWEEP_INTERVAL_SECONDS ?? parsedEnv.WORKFLOW_RETRY_INTERVAL_SECONDS,
    retryBackoffSeconds: parsedEnv.WORKFLOW_RETRY_BACKOFF_SECONDS ?? parsedEnv.WORKFLOW_RETRY_INTERVAL_SECONDS,
    providerRecheckSeconds: parsedEnv.PROVIDER_RECHECK_SECONDS ?? parsedEnv.WORKFLOW_RETRY_INTERVAL_SECONDS,
    recoveryWaveSeconds: parsedEnv.PROVIDER_RECOVERY_WAVE_SECONDS ?? parsedEnv.WORKFLOW_RETRY_INTERVAL_SECONDS,
  };
}
