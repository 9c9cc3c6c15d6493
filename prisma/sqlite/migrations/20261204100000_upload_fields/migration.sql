-- (No semicolons in comments: Prisma's migration runner cuts a script at every one.)
-- Extra image inputs: a job keeps one upload row per image field. The job's upload (every row so far) is field ''.

-- AlterTable
ALTER TABLE "uploads" ADD COLUMN "field" TEXT NOT NULL DEFAULT '';

-- DropIndex
DROP INDEX "uploads_job_id_key";

-- CreateIndex
CREATE UNIQUE INDEX "uploads_job_id_field_key" ON "uploads"("job_id", "field");
