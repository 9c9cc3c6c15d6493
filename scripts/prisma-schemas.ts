/**
 * Writes prisma/sqlite/schema.prisma and prisma/postgresql/schema.prisma from prisma/models.prisma.
 * A Prisma schema names one provider; Montage supports two, so the models are kept in one file and
 * each provider's schema is generated from it (never edited by hand).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const models = readFileSync(path.join(root, "prisma/models.prisma"), "utf8");

for (const provider of ["sqlite", "postgresql"] as const) {
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
  const dir = path.join(root, "prisma", provider);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "schema.prisma"), `${header}\n${models}`);
}
