import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";

/** What the Node front's routes (lib/server/node-routes.ts) share: web headers of a Node request, and a web Response written to a Node one. */

export function webHeaders(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

/** Writes `answer` whole, with its length; `close` ends the connection after it (a request body left unread). */
export async function sendWebResponse(response: ServerResponse, answer: Response, options: { close?: boolean } = {}): Promise<void> {
  if (response.headersSent || response.destroyed) return void response.destroy();
  const body = Buffer.from(await answer.arrayBuffer());
  response.writeHead(answer.status, { ...Object.fromEntries(answer.headers), "content-length": String(body.length), ...(options.close && { connection: "close" }) });
  response.end(body);
}
