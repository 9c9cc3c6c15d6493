// The production server: Next.js behind a plain node:http server in the same process. The event
// stream (GET /jobs/<id>/stream) and sign-up (POST /api/signup) are answered by the runtime's Node
// handlers (lib/server/node-routes.ts), with no framework objects per request; every other request
// goes to Next.js as `next start` would serve it. See docs/decisions/2026-12-02-stream-on-node-http.md
// and 2026-12-02-sign-up-on-node-http.md. Usage: PORT=3000 node scripts/server.mjs
// (MONTAGE_DIST_DIR names the build to serve, as for next start; HOSTNAME the address, default all).
import http from "node:http";
import path from "node:path";
import next from "next";

const root = path.resolve(import.meta.dirname, "..");
const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOSTNAME || undefined;
process.env.NODE_ENV = "production";

const app = next({ dev: false, dir: root, port, hostname: hostname ?? "localhost" });
const handle = app.getRequestHandler();
// Runs instrumentation.ts's register(): the runtime is built and its driver started.
await app.prepare();

// The runtime lives in the process-wide slot lib/server/runtime.ts fills (built by Next's bundle).
const RUNTIME = Symbol.for("montage.runtime");
const server = http.createServer((request, response) => {
  const runtime = globalThis[RUNTIME];
  if (typeof runtime?.serveNodeRoute === "function" && runtime.serveNodeRoute(request, response)) return;
  void handle(request, response);
});
server.listen(port, hostname, () => console.log(`Montage listening on http://${hostname ?? "localhost"}:${port}`));
