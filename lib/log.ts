import { config } from "@/lib/config";

/**
 * Structured logs: one JSON line per event on stdout. Every line about a job carries `job_id` and,
 * inside a step, `step`. Values that look like secrets are redacted before they are written.
 */
type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

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

const SECRET_KEYS = /(token|secret|password|authorization|api_key|apikey|signature|cookie)/i;

export function redact(text: string): string {
  return SECRET_PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}

function serialize(value: unknown, key = ""): unknown {
  if (SECRET_KEYS.test(key) && value !== undefined && value !== null) return "[redacted]";
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message) };
  }
  if (Array.isArray(value)) return value.map((item) => serialize(item));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serialize(v, k)]));
  }
  return value;
}

let levelOverride: number | undefined;

export function setLogLevel(level: Level | "silent"): void {
  levelOverride = LEVELS[level];
}

/** LOG_LEVEL from the config (read lazily: the logger must work before and while the config loads). */
function minimumLevel(): number {
  if (levelOverride !== undefined) return levelOverride;
  try {
    return LEVELS[config().LOG_LEVEL];
  } catch {
    return LEVELS.info;
  }
}

function createLogger(bound: LogFields): Logger {
  const write = (level: Level, message: string, fields?: LogFields) => {
    if (LEVELS[level] < minimumLevel()) return;
    const line = {
      time: new Date().toISOString(),
      level,
      msg: redact(message),
      ...(serialize({ ...bound, ...fields }) as LogFields),
    };
    const text = `${JSON.stringify(line)}\n`;
    if (level === "error" || level === "warn") process.stderr.write(text);
    else process.stdout.write(text);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
    child: (fields) => createLogger({ ...bound, ...fields }),
  };
}

export const log: Logger = createLogger({});
