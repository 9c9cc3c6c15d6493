import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import { DISCARD_AFTER_REFUSAL } from "@/lib/api/body";

/** What the Node front's routes (lib/server/node-routes.ts) share: web headers of a Node request, and a web Response written to a Node one. */

export function webHeaders(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

/**
 * The request's URL. The Host header is the client's to send: one that is not a host (`a b`) would
 * make `new URL` throw outside any handler, so the URL falls back to localhost's; the origin checks
 * read the headers themselves (lib/api/client-address.ts).
 */
export function requestUrl(request: IncomingMessage): URL {
  const path = request.url ?? "/";
  try {
    return new URL(path, `http://${request.headers.host ?? "localhost"}`);
  } catch {
    return new URL(path.startsWith("/") ? path : "/", "http://localhost");
  }
}

/** Writes `answer` whole, with its length. */
export async function sendWebResponse(response: ServerResponse, answer: Response): Promise<void> {
  if (response.headersSent || response.destroyed) return void response.destroy();
  const body = Buffer.from(await answer.arrayBuffer());
  response.writeHead(answer.status, { ...Object.fromEntries(answer.headers), "content-length": String(body.length) });
  response.end(body);
}

/**
 * After answering a request whose body was not read to its end: reads and drops the rest for a
 * little while (as a server's lingering close does), so that the client reads the answer and an
 * honest one that sent a little too much keeps its connection; past the limits the connection is
 * closed. Closing at once could reset it before the client had read the answer.
 */
export function discardRest(request: IncomingMessage): void {
  if (request.complete || request.destroyed) return;
  let dropped = 0;
  const start = Date.now();
  const timer = setTimeout(() => close(), DISCARD_AFTER_REFUSAL.ms);
  timer.unref();
  const close = () => {
    clearTimeout(timer);
    request.off("data", onData);
    request.socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_AFTER_REFUSAL.bytes && Date.now() - start >= DISCARD_AFTER_REFUSAL.graceMs) close();
  };
  request.on("data", onData);
  request.once("end", () => {
    clearTimeout(timer);
    request.off("data", onData);
  });
  request.once("close", () => clearTimeout(timer));
  request.resume();
}
