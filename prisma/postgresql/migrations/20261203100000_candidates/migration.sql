-- Candidates (POST /workflows/pick/<job_id>): which steps a job runs as several candidates, and
-- whether the first candidate that succeeded is picked without asking (auto_pick), as JSON.
-- Each candidate is a checkpoint row of its own (checkpoints.candidate 1 to n), and the pick is the
-- own row of the step (candidate 0). A job awaiting a pick is awaiting_input since jobs.awaiting_since.

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN "candidates" JSONB;
