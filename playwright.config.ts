import { existsSync } from "node:fs";
import { chromium, defineConfig, devices } from "@playwright/test";
import { SERVERS, serverDataDir, serverLogFile } from "./e2e/support/servers";

/**
 * Browser tests against the production build (`.next` must exist: `npm run build` first). Five
 * servers, each on a fresh database in a temp DATA_DIR, because the local fault switch is per process
 * (ports from E2E_PORT_BASE, default 3210):
 *   base      no faults                                 sign-in, the main run, isolation, tokens, layout
 *   base + 1  video fails twice (503), slow sweep        a run parks, Retry now is held once, then completes it
 *   base + 2  image edit waits at a gate the test opens  reload, cancel and photographs mid-run
 *   base + 3  video out of credit once, 10 min sweep     issue 17's recovery scenario
 *   base + 4  one run at a time, image edit gated         the place in line and the timeline (e2e/queue.spec.ts)
 * The viewport is 1280x800 (the phone tests set 390x844).
 * Chromium: Playwright's own when installed, else Debian's /usr/bin/chromium (CI machines cannot
 * download browsers).
 */

const ownChromium = (() => {
  try {
    return existsSync(chromium.executablePath());
  } catch {
    return false;
  }
})();
const systemChromium = "/usr/bin/chromium";

function server(port: number, env: Record<string, string>) {
  const dataDir = serverDataDir(port);
  return {
    // A fresh database per run: remove, migrate, serve. The server's log is also kept in its
    // DATA_DIR, where the global teardown looks for uncaught exceptions (e2e/support/uncaught-guard.ts).
    command: `rm -rf "${dataDir}" && npx tsx scripts/db-migrate.ts && node scripts/server.mjs 2>&1 | tee "${serverLogFile(port)}"`,
    url: `http://localhost:${port}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      DATA_DIR: dataDir,
      DATABASE_URL: "",
      PORT: String(port),
      APP_URL: `http://localhost:${port}`,
      // next-auth reads it itself (an empty string breaks it): the server's own URL is the right value.
      NEXTAUTH_URL: `http://localhost:${port}`,
      NEXTAUTH_SECRET: "",
      GITHUB_ID: "",
      GITHUB_SECRET: "",
      REPLICATE_API_TOKEN: "",
      CLOUDINARY_URL: "",
      INNGEST_DEV: "",
      INNGEST_EVENT_KEY: "",
      INNGEST_SIGNING_KEY: "",
      LOG_LEVEL: "warn",
      LOCAL_PROVIDER_FAULTS: "",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "2",
      // Every test signs up its own user from this one address: the per-address limit would refuse the suite.
      RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: "10000",
      ...env,
    },
  };
}

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results",
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  workers: 2,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI ? [["list"], ["html", { open: "never" }]] : [["list"]],
  use: {
    baseURL: `http://localhost:${SERVERS.main}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    video: "off",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        viewport: { width: 1280, height: 800 },
        ...(!ownChromium && {
          launchOptions: {
            executablePath: systemChromium,
            args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
          },
        }),
      },
    },
  ],
  globalTeardown: "./e2e/support/uncaught-guard.ts",
  webServer: [
    server(SERVERS.main, {}),
    // A long retry interval: the sweep must not resume the parked run before the test presses Retry.
    // Two outages (fewer than the three that open the provider's circuit): the first Retry now is
    // held again, the second completes the run.
    server(SERVERS.faults, { LOCAL_PROVIDER_FAULTS: "video:outage:2", WORKFLOW_RETRY_INTERVAL_SECONDS: "3600" }),
    // The image edit waits until the test opens its job's gate, so a step is in progress for as long
    // as the test needs, however busy the machine.
    server(SERVERS.gated, { LOCAL_PROVIDER_FAULTS: "image_edit:gate" }),
    // Issue 17's setup: the video model is out of credit once (quota opens the provider's circuit),
    // and the sweep runs every 10 minutes, so nothing here may wait for it.
    server(SERVERS.recovery, { LOCAL_PROVIDER_FAULTS: "video:quota:1", WORKFLOW_RETRY_INTERVAL_SECONDS: "600" }),
    // One execution at a time, each held at its image edit until the test opens its gate: runs
    // started after it wait in line for as long as the test needs.
    server(SERVERS.queue, { WORKFLOW_CONCURRENCY: "1", LOCAL_PROVIDER_FAULTS: "image_edit:gate" }),
  ],
});
