/**
 * Generated code, made before dev, build and test: the per-provider Prisma schemas and clients,
 * and the workflow registry. Each generator writes a file only when its content changes, and the
 * Prisma clients are generated only when their inputs changed, so a run with nothing changed
 * touches nothing (and costs about a second).
 */
import path from "node:path";
import { generateWorkflowRegistry } from "./generate-workflow-registry";
import { generatePrismaClient } from "./prisma-generate";
import { PRISMA_PROVIDERS, writePrismaSchemas } from "./prisma-schemas";
import { isMainModule } from "./write-if-changed";

export async function runCodegen(root: string): Promise<void> {
  writePrismaSchemas(root);
  const generated = PRISMA_PROVIDERS.filter((provider) => generatePrismaClient(root, provider) === "generated");
  console.log(generated.length > 0 ? `Prisma clients generated for ${generated.join(" and ")}.` : "Prisma clients are up to date.");
  await generateWorkflowRegistry(root);
}

if (isMainModule(import.meta.url)) await runCodegen(path.resolve(import.meta.dirname, ".."));
