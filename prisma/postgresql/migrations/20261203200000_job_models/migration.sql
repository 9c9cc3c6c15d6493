-- (No semicolons in comments: Prisma's migration runner cuts a script at every one.)
-- Model choice per step: the model each step with a choice runs, recorded on the job.

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN "models" JSONB;
