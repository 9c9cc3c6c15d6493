import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export interface SpawnedProcess {
  process: ChildProcess;
  output(): string;
  /** Log lines of uncaught exceptions and unhandled rejections so far; stop() and crash() fail when there are any. */
  uncaught(): string[];
  /** kill -9 of the whole process group: no shutdown hooks run. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningServer extends SpawnedProcess {
  url: string;
}

/**
 * Spawns a command in a process group of its own (so kill reaches its children) and waits until
 * `healthUrl` answers 2xx. Used for `next start` here and for the benchmark's helper servers.
 */
export async function spawnUntilHealthy(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; healthUrl: string }): Promise<SpawnedProcess> {
  const child = spawn(command, args, { cwd: root, env: options.env ?? process.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid!, signal);
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${path.basename(args[0] ?? command)} exited early:\n${output}`);
    try {
      if ((await fetch(options.healthUrl)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      // Never leave a server that failed to start holding its port for the next run.
      await kill("SIGKILL");
      throw new Error(`${path.basename(args[0] ?? command)} did not become healthy:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const uncaught = () => uncaughtLines(output);
  // A server that logged an uncaught exception fails the test that stops it, even when every answer looked right.
  const guarded = (signal: NodeJS.Signals) => async () => {
    await kill(signal);
    const lines = uncaught();
    if (lines.length > 0) throw new Error(`the server logged ${lines.length} uncaught exception(s) or unhandled rejection(s):\n${lines.join("\n").slice(0, 4000)}`);
  };
  return { process: child, output: () => output, uncaught, crash: guarded("SIGKILL"), stop: guarded("SIGTERM") };
}

/** The lines of a server's output that report an uncaught exception or an unhandled rejection. */
export function uncaughtLines(output: string): string[] {
  return output.split("\n").filter((line) => /uncaughtException|unhandledRejection/.test(line));
}

/**
 * Starts the production server as `npm start` runs it (scripts/server.mjs: Next.js behind a plain
 * node:http server that answers the event stream itself) as a real process with the given environment.
 */
export async function startServer(env: Record<string, string>, port?: number): Promise<RunningServer> {
  // npm test serves a copy of its fresh build (scripts/served-build.ts); run alone, tests use .next.
  if (!existsSync(path.join(root, process.env.MONTAGE_DIST_DIR || ".next", "BUILD_ID"))) {
    throw new Error("No production build: run `npm run build` first (`npm test` and `npm run bench` do it).");
  }
  const listenPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${listenPort}`;
  const spawned = await spawnUntilHealthy(process.execPath, [path.join(root, "scripts/server.mjs")], {
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", PORT: String(listenPort), ...env },
    healthUrl: `${url}/api/health`,
  });
  return { ...spawned, url };
}
