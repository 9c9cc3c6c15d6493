/**
 * `prisma generate` for one provider, skipped when its inputs are unchanged. Prisma rewrites every
 * file of its output on each run (new mtimes, same content), and its output embeds absolute paths,
 * so it cannot be generated elsewhere and compared. Instead a stamp in the output folder records a
 * hash of what the output is made from: the schema text, the Prisma CLI and client versions, and
 * the output folder itself. Same hash, no run.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { prismaCliEnv } from "./prisma-env";
import { prismaSchemaPath, type PrismaProvider } from "./prisma-schemas";
import { writeFileIfChanged } from "./write-if-changed";

const STAMP = ".generated-from";

export function prismaClientDir(root: string, provider: PrismaProvider): string {
  return path.join(root, "lib/db/generated", provider);
}

function packageVersion(nodeModules: string, name: string): string {
  return (JSON.parse(readFileSync(path.join(nodeModules, name, "package.json"), "utf8")) as { version: string }).version;
}

export function prismaGenerateInputs(root: string, provider: PrismaProvider, nodeModules: string): string {
  return createHash("sha256")
    .update(
      JSON.stringify({
        schema: readFileSync(prismaSchemaPath(root, provider), "utf8"),
        prisma: packageVersion(nodeModules, "prisma"),
        client: packageVersion(nodeModules, "@prisma/client"),
        output: prismaClientDir(root, provider),
      }),
    )
    .digest("hex");
}

/**
 * Generates `root`'s client for `provider` unless the stamp says it is current. `nodeModules` is
 * where the Prisma CLI and client live (the project's own; tests generate into a temp root with it).
 */
export function generatePrismaClient(root: string, provider: PrismaProvider, nodeModules = path.join(root, "node_modules")): "generated" | "up to date" {
  const outDir = prismaClientDir(root, provider);
  const stamp = path.join(outDir, STAMP);
  const inputs = prismaGenerateInputs(root, provider, nodeModules);
  const current = existsSync(path.join(outDir, "client.ts")) && existsSync(stamp) && readFileSync(stamp, "utf8") === inputs;
  if (current) return "up to date";
  // A run that fails half-way must not leave a stamp that vouches for the old output.
  rmSync(stamp, { force: true });
  execFileSync(path.join(nodeModules, ".bin/prisma"), ["generate", "--schema", path.relative(root, prismaSchemaPath(root, provider))], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: root,
    env: prismaCliEnv(),
  });
  writeFileIfChanged(stamp, inputs);
  return "generated";
}
