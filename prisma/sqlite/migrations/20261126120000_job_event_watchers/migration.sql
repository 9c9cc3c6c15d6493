-- CreateTable
CREATE TABLE "job_event_watchers" (
    "job_id" TEXT NOT NULL,
    "process_id" TEXT NOT NULL,
    "expires_at" DATETIME NOT NULL,

    PRIMARY KEY ("job_id", "process_id")
);
