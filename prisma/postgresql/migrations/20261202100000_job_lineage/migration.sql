-- Lineage of reruns (POST /workflows/rerun/<job_id>): the job a rerun was made from and the step it
-- ran from. The parent may be deleted (its user is), so the link is set to NULL then, never cascaded.

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN "parent_job_id" TEXT,
ADD COLUMN "rerun_from_step" INTEGER;

-- CreateIndex
CREATE INDEX "jobs_parent_job_id_idx" ON "jobs"("parent_job_id");

-- AddForeignKey
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_parent_job_id_fkey" FOREIGN KEY ("parent_job_id") REFERENCES "jobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Approval before a step (POST /workflows/approve/<job_id>): the steps this job waits at, the last
-- step approved, and the wait in progress (since when, until when before approval_timeout).
ALTER TABLE "jobs" ADD COLUMN "approval_steps" JSONB,
ADD COLUMN "approved_step" INTEGER,
ADD COLUMN "awaiting_since" TIMESTAMP(3),
ADD COLUMN "awaiting_until" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "jobs_status_awaiting_until_idx" ON "jobs"("status", "awaiting_until");
