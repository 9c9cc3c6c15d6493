-- CreateTable
CREATE TABLE "job_event_watchers" (
    "job_id" TEXT NOT NULL,
    "process_id" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "job_event_watchers_pkey" PRIMARY KEY ("job_id","process_id")
);

-- Wakes the event streams of other Montage processes the moment a watched job's events commit
-- (lib/jobs/wakeups.ts LISTENs on montage_job_events). The payload is the job id. PostgreSQL sends
-- notifications at commit, never for a rollback, and folds identical ones of one transaction into
-- one. Only jobs that a live process follows are notified: a NOTIFY serializes the commits of
-- every notifying transaction, which halved the throughput of unwatched runs (docs/performance.md).
--
-- The function body spells its semicolons as \073 in an escape string: Prisma's migration runner
-- (the JS engine's) cuts a script at every semicolon, even inside quotes or dollar quotes.
CREATE FUNCTION montage_notify_job_events() RETURNS trigger LANGUAGE plpgsql AS
  E'BEGIN PERFORM pg_notify(''montage_job_events'', watched.job_id) FROM (SELECT DISTINCT job_id FROM inserted) AS watched WHERE EXISTS (SELECT 1 FROM job_event_watchers w WHERE w.job_id = watched.job_id AND w.expires_at > (now() AT TIME ZONE ''UTC''))\073 RETURN NULL\073 END';

-- Once per INSERT statement (a step commit inserts its events in one), not once per row.
CREATE TRIGGER job_events_notify AFTER INSERT ON job_events
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION montage_notify_job_events();
