/**
 * The stream baseline: a bare node:http SSE server fed from the same SQLite database as Montage.
 * One tail of job_events for the whole process (every TAIL_MS), fanned out to each job's
 * subscribers. No framework, no auth, no per-connection queries: what the machine can do.
 *
 * Usage: tsx bench/bare-sse-server.ts <sqlite file> <port> <tail ms>
 */
import { createServer, type ServerResponse } from "node:http";
import Database from "better-sqlite3";

const [file, portText, tailText] = process.argv.slice(2);
const db = new Database(file!, { readonly: true, timeout: 10_000 });
const subscribers = new Map<string, Set<ServerResponse>>();
let cursor = (db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM job_events").get() as { id: number }).id;
const tail = db.prepare("SELECT id, job_id AS jobId, type, data FROM job_events WHERE id > ? ORDER BY id LIMIT 1000");

setInterval(() => {
  const rows = tail.all(cursor) as { id: number; jobId: string; type: string; data: string }[];
  for (const row of rows) {
    cursor = row.id;
    const listeners = subscribers.get(row.jobId);
    if (!listeners) continue;
    const text = `id: ${row.id}\nevent: ${row.type}\ndata: ${row.data}\n\n`;
    for (const response of listeners) response.write(text);
  }
}, Number(tailText ?? 25));

createServer((request, response) => {
  const match = /^\/jobs\/([^/]+)\/stream/.exec(request.url ?? "");
  if (!match) {
    response.writeHead(request.url === "/health" ? 200 : 404).end();
    return;
  }
  const jobId = match[1]!;
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  response.write(`retry: 2000\n: connected to job ${jobId}\n\n`);
  let set = subscribers.get(jobId);
  if (!set) subscribers.set(jobId, (set = new Set()));
  set.add(response);
  request.on("close", () => set.delete(response));
}).listen(Number(portText), "127.0.0.1");
