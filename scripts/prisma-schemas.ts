/**
 * Writes prisma/sqlite/schema.prisma and prisma/postgresql/schema.prisma from prisma/models.prisma.
 * A Prisma schema names one provider; Montage supports two, so the models are kept in one file and
 * each provider's schema is generated from it (never edited by hand). A schema whose content is
 * unchanged is not rewritten.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { isMainModule, writeFileIfChanged } from "./write-if-changed";

export const PRISMA_PROVIDERS = ["sqlite", "postgresql"] as const;
export type PrismaProvider = (typeof PRISMA_PROVIDERS)[number];

export function prismaSchemaPath(root: string, provider: PrismaProvider): string {
  return path.join(root, "prisma", provider, "schema.prisma");
}

/** Writes both providers' schemas under `root`; returns the providers whose schema changed. */
export function writePrismaSchemas(root: string): PrismaProvider[] {
  const models = readFileSync(path.join(root, "prisma/models.prisma"), "utf8");
  return PRISMA_PROVIDERS.filter((provider) => {
    const header = `// GENERATED from prisma/models.prisma by scripts/prisma-schemas.ts. Do not edit.

generator client {
  provider   = "prisma-client"
  output     = "../../lib/db/generated/${provider}"
  engineType = "client"
  runtime    = "nodejs"
  moduleFormat = "esm"
}

datasource db {
  provider = "${provider}"
  url      = env("DATABASE_URL")
}
`;
    return writeFileIfChanged(prismaSchemaPath(root, provider), `${header}\n${models}`);
  });
}

if (isMainModule(import.meta.url)) writePrismaSchemas(path.resolve(import.meta.dirname, ".."));
