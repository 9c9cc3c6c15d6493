-- Lineage of reruns (POST /workflows/rerun/<job_id>): the job a rerun was made from and the step it
-- ran from. The parent may be deleted (its user is), so the link is set to NULL then, never cascaded.

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN "parent_job_id" TEXT REFERENCES "jobs" ("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "jobs" ADD COLUMN "rerun_from_step" INTEGER;

-- CreateIndex
CREATE INDEX "jobs_parent_job_id_idx" ON "jobs"("parent_job_id");

-- Approval before a step (POST /workflows/approve/<job_id>): the steps this job waits at, the last
-- step approved, and the wait in progress (since when, until when before approval_timeout).
ALTER TABLE "jobs" ADD COLUMN "approval_steps" JSONB;
ALTER TABLE "jobs" ADD COLUMN "approved_step" INTEGER;
ALTER TABLE "jobs" ADD COLUMN "awaiting_since" DATETIME;
ALTER TABLE "jobs" ADD COLUMN "awaiting_until" DATETIME;

-- CreateIndex
CREATE INDEX "jobs_status_awaiting_until_idx" ON "jobs"("status", "awaiting_until");
