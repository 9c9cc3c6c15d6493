/**
 * The stream baseline: a bare node:http SSE server fed from the same database as Montage, with
 * no framework, no auth and no per-connection queries: what the machine can do.
 * - SQLite: one tail of job_events for the whole process every <tail ms>, fanned out to each
 *   job's subscribers.
 * - PostgreSQL: LISTEN on the channel Montage's job_events trigger notifies, with a watcher row
 *   for each job it serves (the trigger notifies watched jobs only); each notification reads
 *   that job's new rows once and fans them out.
 *
 * Usage: tsx bench/bare-sse-server.ts <sqlite file | postgresql url> <port> <tail ms>
 */
import { createServer, type ServerResponse } from "node:http";
import Database from "better-sqlite3";
import pg from "pg";

const [target, portText, tailText] = process.argv.slice(2);
const subscribers = new Map<string, Set<ServerResponse>>();
/** Called for each job's first subscriber. */
let watch: (jobId: string) => void = () => undefined;
type EventRow = { id: number; jobId: string; type: string; data: string | object };

function fanOut(row: EventRow): void {
  const listeners = subscribers.get(row.jobId);
  if (!listeners) return;
  const text = `id: ${row.id}\nevent: ${row.type}\ndata: ${typeof row.data === "string" ? row.data : JSON.stringify(row.data)}\n\n`;
  for (const response of listeners) response.write(text);
}

if (/^postgres(ql)?:/.test(target!)) {
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  const start = Number((await client.query("SELECT COALESCE(MAX(id), 0) AS id FROM job_events")).rows[0].id);
  const cursors = new Map<string, number>();
  const reading = new Map<string, Promise<void>>();
  const read = async (jobId: string): Promise<void> => {
    const result = await client.query({
      name: "tail",
      text: "SELECT id, job_id AS \"jobId\", type, data FROM job_events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT 1000",
      values: [jobId, cursors.get(jobId) ?? start],
    });
    for (const row of result.rows as EventRow[]) {
      cursors.set(jobId, row.id);
      fanOut(row);
    }
  };
  client.on("notification", (message) => {
    const jobId = message.payload!;
    if (!subscribers.has(jobId)) return;
    // One read per job at a time; a notification during a read gets one more.
    const previous = reading.get(jobId) ?? Promise.resolve();
    reading.set(jobId, previous.then(() => read(jobId)).catch(() => undefined));
  });
  await client.query("LISTEN montage_job_events");
  watch = (jobId) =>
    void client.query(
      "INSERT INTO job_event_watchers (job_id, process_id, expires_at) VALUES ($1, 'bare-sse-server', (now() AT TIME ZONE 'UTC') + interval '1 hour') ON CONFLICT DO NOTHING",
      [jobId],
    ).catch((error: unknown) => process.stderr.write(`bare-sse-server: could not watch ${jobId}: ${String(error)}\n`));
} else {
  const db = new Database(target!, { readonly: true, timeout: 10_000 });
  let cursor = (db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM job_events").get() as { id: number }).id;
  const tail = db.prepare("SELECT id, job_id AS jobId, type, data FROM job_events WHERE id > ? ORDER BY id LIMIT 1000");
  setInterval(() => {
    for (const row of tail.all(cursor) as EventRow[]) {
      cursor = row.id;
      fanOut(row);
    }
  }, Number(tailText ?? 25));
}

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
  if (!set) {
    subscribers.set(jobId, (set = new Set()));
    watch(jobId);
  }
  set.add(response);
  request.on("close", () => set.delete(response));
}).listen(Number(portText), "127.0.0.1");
