// npm test: the whole suite, as CI runs it. Installs dependencies if needed, generates code,
// type-checks, lints, builds the production app afresh (the server and browser tests run against it,
// on a copy that a concurrent build in this folder cannot touch: scripts/served-build.ts), then runs
// the unit and integration tests (vitest) and the browser tests (Playwright), and prints one
// summary line. Needs PostgreSQL (TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
// and Chromium (Playwright's own, or /usr/bin/chromium).
import { execSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const step = (title, command) => {
  console.log(`\n▶ ${title}`);
  execSync(command, { stdio: "inherit" });
};

step("dependencies", "node scripts/ensure-deps.mjs");
step("code generation", "npx tsx scripts/codegen.ts");
step("type check", "npx tsc --noEmit");
step("lint", "npx eslint .");
console.log("\n▶ production build");
// A fresh build even when one of the same sources exists; the servers below serve its copy.
const distDir = execSync(`npx tsx scripts/build.ts --force --serve-for ${process.pid}`, { stdio: ["inherit", "pipe", "inherit"] })
  .toString()
  .trim()
  .split("\n")
  .at(-1);
process.env.MONTAGE_DIST_DIR = distDir;

// Not under test-results/: Playwright empties that folder when it starts.
rmSync("reports", { recursive: true, force: true });
mkdirSync("reports", { recursive: true });
console.log("\n▶ unit and integration tests (vitest)");
const vitest = spawnSync("npx", ["vitest", "run", "--reporter=default", "--reporter=json", "--outputFile.json=reports/vitest.json"], {
  stdio: "inherit",
});

let e2e = { status: 0 };
if (existsSync("e2e") && existsSync("playwright.config.ts")) {
  console.log("\n▶ browser tests (Playwright)");
  e2e = spawnSync("npx", ["playwright", "test", "--reporter=list,json"], {
    stdio: "inherit",
    env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_NAME: "reports/playwright.json" },
  });
}

function counts() {
  let passed = 0;
  let failed = 0;
  if (existsSync("reports/vitest.json")) {
    const report = JSON.parse(readFileSync("reports/vitest.json", "utf8"));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
  }
  if (existsSync("reports/playwright.json")) {
    const { stats } = JSON.parse(readFileSync("reports/playwright.json", "utf8"));
    passed += stats.expected + stats.flaky;
    failed += stats.unexpected;
  }
  return { passed, failed };
}

// This run no longer uses the copy (had it died instead, its dead pid would say the same).
rmSync(path.join(distDir, ".montage-users", String(process.pid)), { force: true });

const { passed, failed } = counts();
const ok = vitest.status === 0 && e2e.status === 0;
console.log(`\n${passed} passed, ${ok ? failed : Math.max(failed, 1)} failed`);
process.exit(ok ? 0 : 1);
