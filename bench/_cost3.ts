import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createTestDatabase, useTestEnvironment, closeTestEnvironment } from "../tests/helpers/db";
import { createUserWithToken } from "../tests/helpers/api";
const database = await createTestDatabase("sqlite");
await useTestEnvironment(database);
const { token } = await createUserWithToken("exec@example.com");
await closeTestEnvironment();
const port = 3392;
const prof = process.env.PROF === "1";
const child = spawn(process.execPath, [...(prof ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof/cpu3"] : []), "scripts/server.mjs"], { env: { ...process.env, NODE_ENV: "production", PORT: String(port), DATABASE_URL: database.url, DATA_DIR: database.dataDir, LOG_LEVEL: "warn", LOCAL_PROVIDER_FAULTS: "image_edit:slow=600000", WORKFLOW_CONCURRENCY: "1", RATE_LIMIT_EXECUTES_PER_MINUTE: "0", RATE_LIMIT_CONCURRENT_UPLOADS: "0" }, stdio: "ignore" });
const url = `http://127.0.0.1:${port}`;
for (;;) { try { if ((await fetch(`${url}/api/health`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 300)); }
const img = readFileSync("public/examples/city-before.jpg");
const form = () => { const f = new FormData(); f.append("workflow_id", "img-edit-to-video"); f.append("file", new Blob([img], { type: "image/jpeg" }), "a.jpg"); return f; };
const first = await fetch(`${url}/workflows/execute`, { method: "POST", body: form(), headers: { authorization: `Bearer ${token}` } });
const { job_id } = await first.json() as { job_id: string };
for (let i = 0; i < Number(process.env.QUEUED ?? 100); i++) await (await fetch(`${url}/workflows/execute`, { method: "POST", body: form(), headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
function cpu(): number { const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" "); return (Number(f[11]) + Number(f[12])) * 10; }
async function measure(name: string, n: number, make: () => Promise<Response>) {
  for (let i = 0; i < 50; i++) await (await make()).arrayBuffer();
  const before = cpu(); const t = performance.now(); let bytes = 0;
  for (let i = 0; i < n; i++) { const r = await make(); bytes += (await r.arrayBuffer()).byteLength; }
  console.log(name, "cpu ms/req", ((cpu() - before) / n).toFixed(3), "wall ms/req", ((performance.now() - t) / n).toFixed(3), "bytes", bytes / n);
}
for (let k = 0; k < 2; k++) {
await measure("live", 500, () => fetch(`${url}/api/live`));
await measure("exec", 500, () => fetch(`${url}/workflows/execution/${job_id}`, { headers: { authorization: `Bearer ${token}` } }));
}
child.kill("SIGINT"); await new Promise((r) => child.on("exit", r)); await database.drop();
