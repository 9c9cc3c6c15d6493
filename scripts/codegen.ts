/**
 * Generated code, made before dev, build and test: the per-provider Prisma schemas and clients,
 * the workflow registry, and the home page's examples (made by the local models; skipped when
 * up to date).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { prismaCliEnv } from "./prisma-env";

const root = path.resolve(import.meta.dirname, "..");
const run = (script: string) => execFileSync(process.execPath, ["--import", "tsx", path.join(root, script)], { stdio: "inherit", cwd: root });

run("scripts/prisma-schemas.ts");
for (const provider of ["sqlite", "postgresql"]) {
  execFileSync(
    path.join(root, "node_modules/.bin/prisma"),
    ["generate", "--schema", `prisma/${provider}/schema.prisma`],
    { stdio: ["ignore", "ignore", "inherit"], cwd: root, env: prismaCliEnv() },
  );
}
console.log("Prisma clients generated for sqlite and postgresql.");
run("scripts/generate-workflow-registry.ts");
run("scripts/generate-examples.ts");
