import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import { serveNodeSignUp } from "@/lib/server/node-sign-up";
import { serveNodeStream } from "@/lib/server/node-stream";
import type { Runtime } from "@/lib/server/runtime";

/**
 * The routes the custom server (scripts/server.mjs) answers on plain Node HTTP before Next.js: the
 * event stream (many long connections) and sign-up (anonymous, costly, bursty). Each does what its
 * route handler does, with the same answers; true when one took the request.
 */
export function serveNodeRoute(rt: Runtime, request: IncomingMessage, response: ServerResponse): boolean {
  return serveNodeStream(rt, request, response) || serveNodeSignUp(rt, request, response);
}
