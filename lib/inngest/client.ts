import "server-only";
/**
 * Montage's one Inngest client (app id `montage`). Its settings come from lib/config.ts and are
 * passed explicitly, so the SDK and Montage agree on the mode even though the SDK could read
 * process.env itself. See docs/inngest.md.
 */
import { Inngest, type Logger as InngestLogger } from "inngest";
import type { Config } from "@/lib/config";
import type { Logger } from "@/lib/log";

export const INNGEST_APP_ID = "montage";

export type InngestMode = "dev" | "cloud";

/** INNGEST_DEV may be a flag ("1", "true") or the dev server's URL; "0" and "false" switch it off. */
function devSetting(value: string | undefined): { on: boolean; url?: string } {
  if (value === undefined) return { on: false };
  const flag = value.trim().toLowerCase();
  if (flag === "0" || flag === "false") return { on: false };
  return /^https?:\/\//.test(flag) ? { on: true, url: value.trim() } : { on: true };
}

/**
 * Whether Montage runs on Inngest, and how: `dev` (a local dev server, no request signing) when
 * INNGEST_DEV is set, `cloud` (Inngest Cloud or self-hosted, signed requests) when an event or
 * signing key is; otherwise undefined and the in-process runner is used.
 */
export function inngestMode(cfg: Config): InngestMode | undefined {
  if (devSetting(cfg.INNGEST_DEV).on) return "dev";
  if (cfg.INNGEST_EVENT_KEY || cfg.INNGEST_SIGNING_KEY) return "cloud";
  return undefined;
}

/** Routes the SDK's own log lines (pino-style `(fields, message)` or `(message, ...)`) into Montage's logger. */
function inngestLogger(logger: Logger): InngestLogger {
  const write =
    (level: "debug" | "info" | "warn" | "error") =>
    (...args: unknown[]): void => {
      const [first, second] = args;
      if (typeof first === "string") {
        logger[level](first, second === undefined ? undefined : { detail: second });
      } else {
        logger[level](typeof second === "string" ? second : "inngest", { detail: first });
      }
    };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

export interface InngestClientOverrides {
  /** Tests capture event sends here instead of reaching an Inngest server. */
  fetch?: typeof fetch;
}

export function createInngestClient(cfg: Config, logger: Logger, overrides: InngestClientOverrides = {}) {
  const dev = devSetting(cfg.INNGEST_DEV);
  const baseUrl = cfg.INNGEST_BASE_URL ?? dev.url;
  return new Inngest({
    id: INNGEST_APP_ID,
    isDev: inngestMode(cfg) === "dev",
    logger: inngestLogger(logger.child({ component: "inngest" })),
    ...(cfg.INNGEST_EVENT_KEY && { eventKey: cfg.INNGEST_EVENT_KEY }),
    ...(cfg.INNGEST_SIGNING_KEY && { signingKey: cfg.INNGEST_SIGNING_KEY }),
    ...(cfg.INNGEST_SIGNING_KEY_FALLBACK && { signingKeyFallback: cfg.INNGEST_SIGNING_KEY_FALLBACK }),
    ...(baseUrl && { baseUrl }),
    ...(overrides.fetch && { fetch: overrides.fetch }),
  });
}

export type MontageInngest = ReturnType<typeof createInngestClient>;
