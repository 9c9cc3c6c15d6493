import "server-only";
import http from "node:http";
import https from "node:https";
import { isRefusedAddressError, lookupRefusing } from "@/lib/providers/fetch-output";
import { refusedWebhookAddress, webhookUrlProblem } from "@/lib/webhooks/target";

export type SendResult = { statusCode: number } | { error: string; permanent: boolean };

/**
 * One POST of a delivery. The receiver's address is checked when the socket connects (the lookup
 * refuses private addresses), so a name cannot pass a check and then resolve elsewhere. Redirects
 * are not followed: a 3xx is an answer that is not a 2xx.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, options: { allowInsecure: boolean; timeoutMs: number }): Promise<SendResult> {
  const problem = webhookUrlProblem(url, options.allowInsecure);
  if (problem) return Promise.resolve({ error: problem, permanent: true });
  const target = new URL(url);
  return new Promise((resolve) => {
    const transport = target.protocol === "https:" ? https : http;
    const request = transport.request(target, {
      method: "POST",
      signal: AbortSignal.timeout(options.timeoutMs),
      lookup: lookupRefusing(refusedWebhookAddress(options.allowInsecure)),
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
    });
    request.on("response", (response) => {
      response.resume();
      resolve({ statusCode: response.statusCode ?? 0 });
    });
    request.on("error", (error) => {
      if (isRefusedAddressError(error)) resolve({ error: `Refused: ${target.hostname} resolves to a private address`, permanent: true });
      else resolve({ error: describeError(error), permanent: false });
    });
    request.end(body);
  });
}

function describeError(error: Error): string {
  const code = (error as { code?: string }).code;
  if (error.name === "TimeoutError" || error.name === "AbortError") return "Timed out";
  return code ? `Could not deliver (${code})` : `Could not deliver: ${error.message}`;
}
