-- (No semicolons in comments: Prisma's migration runner cuts a script at every one.)
-- Deadlines: when a job's whole run must have ended (deadline_seconds at execute).

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN "deadline_at" DATETIME;

-- CreateIndex
CREATE INDEX "jobs_status_deadline_at_idx" ON "jobs"("status", "deadline_at");
