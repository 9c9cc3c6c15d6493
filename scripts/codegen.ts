/**
 * Generated code, made before dev, build and test: the per-provider Prisma schemas and clients,
 * the workflow registry, and the home page's examples (made by the local models). Each generator
 * writes a file only when its content changes, the Prisma clients are generated only when their
 * inputs changed, and the examples only when their recipe or the models' code did, so a run with
 * nothing changed touches nothing (and costs about a second).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { examplesUpToDate } from "./generate-examples";
import { generateWorkflowRegistry } from "./generate-workflow-registry";
import { generatePrismaClient } from "./prisma-generate";
import { PRISMA_PROVIDERS, writePrismaSchemas } from "./prisma-schemas";
import { isMainModule } from "./write-if-changed";

export async function runCodegen(root: string): Promise<void> {
  writePrismaSchemas(root);
  const generated = PRISMA_PROVIDERS.filter((provider) => generatePrismaClient(root, provider) === "generated");
  console.log(generated.length > 0 ? `Prisma clients generated for ${generated.join(" and ")}.` : "Prisma clients are up to date.");
  await generateWorkflowRegistry(root);
  if (await examplesUpToDate()) {
    console.log("Home page examples are up to date.");
  } else {
    // In a process of its own: the local models are server modules, loaded under the react-server condition.
    execFileSync(process.execPath, ["--conditions=react-server", "--import", "tsx", path.join(root, "scripts/generate-examples.ts")], { stdio: "inherit", cwd: root });
  }
}

if (isMainModule(import.meta.url)) await runCodegen(path.resolve(import.meta.dirname, ".."));
