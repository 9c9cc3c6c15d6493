-- (No semicolons in comments: Prisma's migration runner cuts a script at every one.)
-- Checkpoints as rows, lease fencing, pinned workflow versions (docs/decisions/2026-12-01-store-and-checkpoint-rows.md).
-- Every existing execution's checkpoint document becomes one row per step: nothing is lost, and
-- the API shows the same layout from the rows.

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN "workflow_version" TEXT;

-- CreateTable
CREATE TABLE "checkpoints" (
    "job_id" TEXT NOT NULL,
    "step_index" INTEGER NOT NULL,
    "candidate" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL,
    "output" JSONB,
    "error" TEXT,
    "error_class" TEXT,
    "error_reason" TEXT,
    "state" JSONB,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "started_at" DATETIME,
    "completed_at" DATETIME,
    "updated_at" DATETIME NOT NULL,
    PRIMARY KEY ("job_id", "step_index", "candidate"),
    CONSTRAINT "checkpoints_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "workflow_versions" (
    "workflow_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("workflow_id", "version")
);

-- Move the checkpoint documents into rows. Their times were ISO strings ending in Z, Prisma's
-- SQLite format writes the offset as +00:00.
INSERT INTO "checkpoints" ("job_id", "step_index", "candidate", "status", "output", "error", "error_class", "error_reason", "state", "attempt", "started_at", "completed_at", "updated_at")
SELECT e."job_id", CAST(c.key AS INTEGER), 0, json_extract(c.value, '$.status'), json_extract(c.value, '$.output'), json_extract(c.value, '$.error'),
       json_extract(c.value, '$.error_class'), json_extract(c.value, '$.error_reason'), json_extract(c.value, '$.state'), j."attempts",
       replace(json_extract(c.value, '$.started_at'), 'Z', '+00:00'), replace(json_extract(c.value, '$.completed_at'), 'Z', '+00:00'), e."updated_at"
FROM "workflow_executions" e
JOIN "jobs" j ON j."id" = e."job_id", json_each(e."checkpoints") AS c
WHERE c.key GLOB '[0-9]*' AND c.type = 'object' AND json_extract(c.value, '$.status') IS NOT NULL;

-- RedefineTables: max_retries always counted attempts and is named so now, the document column goes.
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_workflow_executions" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "job_id" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "current_step" INTEGER NOT NULL DEFAULT 0,
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL DEFAULT 5,
    "last_error" TEXT,
    "last_error_class" TEXT,
    "last_error_reason" TEXT,
    "last_error_provider" TEXT,
    "lease_owner" TEXT,
    "lease_expires_at" DATETIME,
    "lease_epoch" INTEGER NOT NULL DEFAULT 0,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL,
    CONSTRAINT "workflow_executions_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_workflow_executions" ("created_at", "current_step", "id", "job_id", "last_error", "last_error_class", "last_error_provider", "last_error_reason", "lease_expires_at", "lease_owner", "max_attempts", "retry_count", "updated_at", "workflow_id") SELECT "created_at", "current_step", "id", "job_id", "last_error", "last_error_class", "last_error_provider", "last_error_reason", "lease_expires_at", "lease_owner", "max_retries", "retry_count", "updated_at", "workflow_id" FROM "workflow_executions";
DROP TABLE "workflow_executions";
ALTER TABLE "new_workflow_executions" RENAME TO "workflow_executions";
CREATE UNIQUE INDEX "workflow_executions_job_id_key" ON "workflow_executions"("job_id");
CREATE INDEX "workflow_executions_lease_expires_at_idx" ON "workflow_executions"("lease_expires_at");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
