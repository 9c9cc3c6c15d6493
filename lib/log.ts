import "server-only";
import pino from "pino";

/**
 * Structured logs through pino: one JSON line per event. Every line about a job carries `job_id`
 * and, inside a step, `step`. Errors under `err` or `error` keep their type, message, stack and
 * cause chain. Secrets never reach a line: values under secret-looking keys are censored by pino's
 * redact paths, and secret-looking text (API tokens, webhook secrets, the key inside
 * CLOUDINARY_URL) is replaced wherever it appears in a string.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/\bmtg_[A-Za-z0-9_-]{8,}/g, "[redacted]"], // Montage API tokens
  [/\br8_[A-Za-z0-9]{8,}/g, "[redacted]"], // Replicate API tokens
  [/\bwhsec_[A-Za-z0-9+/=]{8,}/g, "[redacted]"], // webhook secrets
  [/\bsignkey-[a-z]+-[A-Za-z0-9]{8,}/g, "[redacted]"], // Inngest signing keys
  [/(cloudinary:\/\/[^:\s]+:)[^@\s]+@/g, "$1[redacted]@"], // the API secret inside CLOUDINARY_URL
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, "$1[redacted]"],
];

/** Replaces secret-looking text in a string. */
export function redact(text: string): string {
  return SECRET_PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}

const SECRET_KEYS = ["token", "secret", "password", "authorization", "api_key", "apiKey", "signature", "cookie", "passwordHash", "password_hash"];
/** Pino's redact paths: the secret keys at the top of a line and one or two levels down (e.g. headers.authorization). */
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/** Strings anywhere in a line go through `redact`; errors are serialized with their stack and cause first. */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return scrub(pino.stdSerializers.errWithCause(value), depth + 1);
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrub(item, depth + 1)]));
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go (tests capture them); stdout by default. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: "msg",
      formatters: { level: (label) => ({ level: label }), log: (object) => scrub(object) as Record<string, unknown> },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    options.destination ?? pino.destination({ sync: true }),
  );
  return wrap(base);
}

function wrap(base: pino.Logger): Logger {
  return {
    debug: (message, fields) => base.debug(fields ?? {}, redact(message)),
    info: (message, fields) => base.info(fields ?? {}, redact(message)),
    warn: (message, fields) => base.warn(fields ?? {}, redact(message)),
    error: (message, fields) => base.error(fields ?? {}, redact(message)),
    child: (fields) => wrap(base.child(scrub(fields) as LogFields)),
  };
}

/** A logger that writes nothing: for code that runs before a runtime exists, and for quiet tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
