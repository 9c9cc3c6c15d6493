import "server-only";
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { PEER_ADDRESS_HEADER } from "@/lib/api/client-address";

/**
 * What Montage needs from each HTTP request before Next.js routes it, taken from Node's own
 * `http.server.request.start` channel, which runs for every request before the server's handler:
 *
 * - the TCP peer's address, stamped into PEER_ADDRESS_HEADER (any value the client sent there is
 *   overwritten): route handlers only see headers, and Next.js fills `X-Forwarded-For` from the
 *   socket only when the client did not send one, so the header alone proves nothing;
 * - paths whose percent-encoding does not decode (`/jobs/%zz/stream`, `/files/%c0%ae`): Next.js
 *   answers those with a plain-text 500 before any route runs, so they are sent to
 *   BAD_PATH_ROUTE instead, which answers 400 in the error shape.
 */
export const BAD_PATH_ROUTE = "/api/bad-path";

const INSTALLED = Symbol.for("montage.http-guard");

/** True when every percent sign starts an escape and the whole path decodes as UTF-8. */
export function pathDecodes(url: string): boolean {
  const queryAt = url.search(/[?#]/);
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

/** Installs the guard once per process (the server's start-up calls it). */
export function installHttpGuard(): void {
  const slot = globalThis as { [INSTALLED]?: true };
  if (slot[INSTALLED]) return;
  slot[INSTALLED] = true;
  subscribe("http.server.request.start", (message) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    request.headers[PEER_ADDRESS_HEADER] = socket.remoteAddress ?? "";
    if (request.url !== undefined && !pathDecodes(request.url)) request.url = BAD_PATH_ROUTE;
  });
}
