-- (No semicolons in comments: Prisma's migration runner cuts a script at every one.)
-- Checkpoints as rows, lease fencing, pinned workflow versions (docs/decisions/2026-12-01-store-and-checkpoint-rows.md).
-- Every existing execution's checkpoint document becomes one row per step: nothing is lost, and
-- the API shows the same layout from the rows.

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "workflow_version" TEXT;

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
    "started_at" TIMESTAMP(3),
    "completed_at" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "checkpoints_pkey" PRIMARY KEY ("job_id","step_index","candidate")
);

-- CreateTable
CREATE TABLE "workflow_versions" (
    "workflow_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "workflow_versions_pkey" PRIMARY KEY ("workflow_id","version")
);

-- AddForeignKey
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Move the checkpoint documents into rows. Their times were ISO strings in UTC.
INSERT INTO "checkpoints" ("job_id", "step_index", "candidate", "status", "output", "error", "error_class", "error_reason", "state", "attempt", "started_at", "completed_at", "updated_at")
SELECT e."job_id", c.key::int, 0, c.value->>'status', c.value->'output', c.value->>'error', c.value->>'error_class', c.value->>'error_reason', c.value->'state',
       j."attempts", (c.value->>'started_at')::timestamptz AT TIME ZONE 'UTC', (c.value->>'completed_at')::timestamptz AT TIME ZONE 'UTC', e."updated_at"
FROM "workflow_executions" e
JOIN "jobs" j ON j."id" = e."job_id"
CROSS JOIN LATERAL jsonb_each(e."checkpoints") AS c(key, value)
WHERE c.key ~ '^[0-9]+$' AND jsonb_typeof(c.value) = 'object' AND c.value->>'status' IS NOT NULL;

-- AlterTable: max_retries always counted attempts, it is named so now.
ALTER TABLE "workflow_executions" RENAME COLUMN "max_retries" TO "max_attempts";
ALTER TABLE "workflow_executions" DROP COLUMN "checkpoints",
ADD COLUMN     "lease_epoch" INTEGER NOT NULL DEFAULT 0;
