// npm test: the whole suite, as CI runs it. Installs dependencies if needed, generates code,
// type-checks, lints, builds the production app (the server and browser tests run against it), then runs
// the unit and integration tests (vitest) and the browser tests (Playwright), and prints one
// summary line. Needs PostgreSQL (TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
// and Chromium (Playwright's own, or /usr/bin/chromium).
import { execSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const step = (title, command) => {
  console.log(`\n▶ ${title}`);
  execSync(command, { stdio: "inherit" });
};

step("dependencies", "node scripts/ensure-deps.mjs");
step("code generation", "npx tsx scripts/codegen.ts");
step("type check", "npx tsc --noEmit");
step("lint", "npx eslint .");
step("production build", "npx next build");

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

const { passed, failed } = counts();
const ok = vitest.status === 0 && e2e.status === 0;
console.log(`\n${passed} passed, ${ok ? failed : Math.max(failed, 1)} failed`);
process.exit(ok ? 0 : 1);
