import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BODY_LIMITS } from "@/lib/api/body";
import { errorResponse } from "@/lib/api/errors";
import { answerSignUp } from "@/lib/auth/sign-up-request";
import { discardRest, requestUrl, sendWebResponse, webHeaders } from "@/lib/server/node-web";
import type { Runtime } from "@/lib/server/runtime";

/**
 * POST /api/signup on plain Node HTTP, for the custom server in front of Next.js (scripts/server.mjs).
 * Sign-up is the costliest thing an anonymous client can ask for, and most of a burst is refused
 * by the limits: through Next.js each attempt, refused or not, cost about 3 ms of the event loop
 * (its router, request and response objects, response piping), so 40 at once held every other
 * request. Here the route's own function (lib/auth/sign-up-request.ts) gets a web Request built
 * from the bytes read below, and nothing else runs. See docs/decisions/2026-12-02-sign-up-on-node-http.md.
 */
const SIGN_UP_PATH = /^\/api\/signup\/?(?:\?|$)/;

/** Serves the request when it is a sign-up and returns true; false leaves it to the next route. */
export function serveNodeSignUp(rt: Runtime, request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== "POST" || !SIGN_UP_PATH.test(request.url ?? "")) return false;
  void signUp(rt, request, response);
  return true;
}

async function signUp(rt: Runtime, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = requestUrl(request);
  let complete = true;
  let answer: Response;
  try {
    const body = await readAtMost(request, BODY_LIMITS.smallJson + 1);
    complete = body.complete;
    // The route's reader applies the limit (declared length, then the bytes): at most one byte past it was read here.
    answer = await answerSignUp(rt, new Request(url, { method: "POST", headers: webHeaders(request), body: body.bytes }));
  } catch (error) {
    answer = errorResponse(error, rt.logger, { method: "POST", path: url.pathname });
  }
  await sendWebResponse(response, answer);
  if (!complete) response.once("finish", () => discardRest(request));
}

/**
 * The request's body, or its first `maxBytes` (then `complete` is false, and the rest is dropped
 * after the answer). A body whose Content-Length already passes `maxBytes` is not read before it. An interrupted
 * body gives what arrived, which the JSON reader refuses.
 */
function readAtMost(request: IncomingMessage, maxBytes: number): Promise<{ bytes: Uint8Array<ArrayBuffer>; complete: boolean }> {
  const declared = Number(request.headers["content-length"]);
  if (declared > maxBytes) return Promise.resolve({ bytes: new Uint8Array(0), complete: false });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (complete: boolean) => {
      request.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      if (!complete) request.pause();
      resolve({ bytes: new Uint8Array(Buffer.concat(chunks)), complete });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    const onClose = () => finish(request.complete);
    request.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}
