-- (No semicolons in comments: Prisma's migration runner cuts a script at every one.)
-- The ETA reads the recent step runs of one workflow (readStepDurations), found through its newest jobs.

-- CreateIndex
CREATE INDEX "jobs_workflow_id_created_at_idx" ON "jobs"("workflow_id", "created_at");
