import "server-only";
import net from "node:net";
import { ApiError } from "@/lib/api/errors";
import { JOB_EVENT_TYPES } from "@/lib/contract/events";
import { isPrivateAddress } from "@/lib/providers/fetch-output";

/** Events delivered when execute names none. */
export const DEFAULT_WEBHOOK_EVENTS = ["complete", "error"] as const;
const MAX_URL_LENGTH = 2048;
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function isLoopbackAddress(address: string): boolean {
  const candidate = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
  return candidate === "::1" || (net.isIPv4(candidate) && candidate.startsWith("127."));
}

/**
 * Which addresses a webhook may not connect to: every private one (loopback, RFC 1918, link-local,
 * CGNAT...). OUTPUT_FETCH_ALLOW_INSECURE (tests against local receivers) lets loopback through, and
 * only loopback.
 */
export function refusedWebhookAddress(allowInsecure: boolean): (address: string) => boolean {
  return (address) => isPrivateAddress(address) && !(allowInsecure && isLoopbackAddress(address));
}

/** Why a webhook URL may not be used, or undefined. Checked at execute and again before each send. */
export function webhookUrlProblem(value: string, allowInsecure: boolean): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `webhook_url is longer than ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "webhook_url is not a valid URL.";
  }
  if (url.username || url.password) return "webhook_url must not carry credentials; verify deliveries by their signature.";
  const loopbackHttp = allowInsecure && url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !loopbackHttp) return "webhook_url must be an https URL.";
  // Literal addresses are checked here; names are checked on the addresses they resolve to, when connecting.
  const literal = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(literal) !== 0 && refusedWebhookAddress(allowInsecure)(literal)) return "webhook_url must be a public address.";
  return undefined;
}

export interface WebhookTarget {
  url: string;
  events: string[];
}

/**
 * Execute's webhook fields: `webhook_url`, and `webhook_events` as a comma-separated list of the
 * stream's event names (default complete,error). Undefined without a URL.
 */
export function webhookTargetOf(fields: Map<string, string>, allowInsecure: boolean): WebhookTarget | undefined {
  const url = fields.get("webhook_url")?.trim();
  const eventsField = fields.get("webhook_events");
  if (!url) {
    if (eventsField !== undefined) throw new ApiError("invalid_form", "webhook_events needs a webhook_url.");
    return undefined;
  }
  const problem = webhookUrlProblem(url, allowInsecure);
  if (problem) throw new ApiError("invalid_form", problem);
  const names = eventsField === undefined ? [...DEFAULT_WEBHOOK_EVENTS] : eventsField.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(JOB_EVENT_TYPES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new ApiError("invalid_form", `webhook_events takes a comma-separated list of: ${JOB_EVENT_TYPES.join(", ")}.`);
  }
  return { url, events: [...new Set(names)] };
}

/** The form's fields without the webhook ones (they are not workflow inputs). */
export function withoutWebhookFields(fields: Map<string, string>): Map<string, string> {
  return new Map([...fields].filter(([name]) => name !== "webhook_url" && name !== "webhook_events"));
}
