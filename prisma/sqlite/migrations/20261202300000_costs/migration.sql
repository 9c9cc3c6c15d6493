-- (No semicolons in comments: Prisma's migration runner cuts a script at every one.)
-- Costs: each job's estimate, each step's actual cost and provider time, and a person's own monthly budget.

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN "estimated_micro_usd" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "jobs" ADD COLUMN "cost_estimate" JSONB;

-- AlterTable
ALTER TABLE "checkpoints" ADD COLUMN "cost_micro_usd" INTEGER;
ALTER TABLE "checkpoints" ADD COLUMN "provider_ms" INTEGER;

-- CreateTable
CREATE TABLE "user_budgets" (
    "user_id" TEXT NOT NULL PRIMARY KEY,
    "monthly_limit_micro_usd" BIGINT NOT NULL,
    "updated_at" DATETIME NOT NULL,
    CONSTRAINT "user_budgets_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
