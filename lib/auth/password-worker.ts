import "server-only";

/** A hash the pool asks a thread for (lib/auth/password-hasher.ts). */
export type WorkerTask =
  | { id: number; op: "scrypt"; password: string; salt: string; params: { ln: number; r: number; p: number; keyBytes: number } }
  | { id: number; op: "bcrypt"; password: string; hash: string; root: string };

/** A task before the pool numbers it. */
export type WorkerTaskInput = WorkerTask extends infer T ? (T extends unknown ? Omit<T, "id"> : never) : never;

export type WorkerReply = { id: number; result: unknown } | { id: number; error: string };

/**
 * The thread's code, run with `eval: true`. It is a string, not a module, because Next.js bundles
 * the server code: a worker file next to this one would not exist at run time, and the bundler
 * would rewrite the `require` calls of a function passed by its source. It needs only Node's
 * built-ins, plus bcryptjs (resolved from the app's folder) for hashes made before scrypt.
 *
 * The thread lowers its own priority where the OS allows it (Linux: a thread's nice value is its
 * own, set through its thread id), so on a loaded machine the event loop is scheduled first.
 */
export const PASSWORD_WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const crypto = require("node:crypto");
try {
  const tid = Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop());
  if (Number.isInteger(tid) && tid > 0) require("node:os").setPriority(tid, 10);
} catch {}
let bcrypt;
parentPort.on("message", (task) => {
  try {
    let result;
    if (task.op === "scrypt") {
      const { ln, r, p, keyBytes } = task.params;
      const N = 2 ** ln;
      result = crypto.scryptSync(task.password, Buffer.from(task.salt, "base64"), keyBytes, { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 }).toString("base64");
    } else if (task.op === "bcrypt") {
      bcrypt ??= require("node:module").createRequire(require("node:path").join(task.root, "package.json"))("bcryptjs");
      result = bcrypt.compareSync(task.password, task.hash);
    } else {
      throw new Error("unknown operation");
    }
    parentPort.postMessage({ id: task.id, result });
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String((error && error.message) || error) });
  }
});
`;
