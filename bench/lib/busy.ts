/**
 * Busy-machine mode (BENCH_LOAD=busy or both): a fixed background CPU load that the bench starts
 * itself, so that a shared host or a small cloud instance is reproduced on any machine. One
 * worker process per core spins for BENCH_BUSY_DUTY of every BUSY_PERIOD_MS and sleeps the rest.
 * The same load runs while Montage and the bare baseline are measured, so their ratio stays fair.
 */
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";

const BUSY_PERIOD_MS = 50;

// Plain JavaScript for `node -e`: spin for the duty share of each period, then sleep until the next.
const WORKER = `
const duty = Number(process.argv[1]), period = ${BUSY_PERIOD_MS};
let x = 0;
const tick = () => {
  const start = Date.now();
  while (Date.now() - start < duty * period) x = (x * 1103515245 + 12345) % 2147483648;
  setTimeout(tick, Math.max(0, period - (Date.now() - start)));
};
tick();
`;

export interface BusyLoad {
  workers: number;
  duty: number;
  stop(): Promise<void>;
}

export function startBusyLoad(duty: number, workers = os.availableParallelism()): BusyLoad {
  const children: ChildProcess[] = Array.from({ length: workers }, () => spawn(process.execPath, ["-e", WORKER, String(duty)], { stdio: "ignore" }));
  return {
    workers,
    duty,
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGKILL");
            }),
        ),
      );
    },
  };
}
