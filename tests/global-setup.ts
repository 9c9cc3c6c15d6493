import { ensurePostgresTemplate, ensureSqliteTemplate } from "./helpers/templates";

/** Builds the migrated template databases once, before any test file runs. */
export default async function setup() {
  ensureSqliteTemplate();
  await ensurePostgresTemplate();
}
