import "server-only";
import pg from "pg";
import type { PostgresConnection } from "@/lib/store/postgres/connection";
import type { EventListenerConnection, EventWatchers } from "@/lib/store/types";

/** The channel the job_events trigger notifies (migration 20261126120000_job_event_watchers); the payload is the job id. */
export const JOB_EVENTS_CHANNEL = "montage_job_events";

/**
 * PostgreSQL's side of the cross-process stream wake-ups (lib/jobs/wakeups.ts): the watcher rows
 * that make the job_events trigger NOTIFY for the jobs some process follows, and the connection
 * that LISTENs. It is a connection of its own, outside the pool: a LISTEN lasts as long as its
 * session.
 */
export class PostgresEventWatchers implements EventWatchers {
  private readonly listeners = new Set<pg.Client>();

  constructor(
    private readonly connection: PostgresConnection,
    private readonly connectionString: string,
  ) {}

  async watch(jobId: string, processId: string, ttlSeconds: number): Promise<void> {
    await this.connection.query(
      `INSERT INTO job_event_watchers (job_id, process_id, expires_at) VALUES ($1, $2, (now() AT TIME ZONE 'UTC') + make_interval(secs => $3))
       ON CONFLICT (job_id, process_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [jobId, processId, ttlSeconds],
    );
  }

  async unwatch(jobId: string, processId: string): Promise<void> {
    await this.connection.query("DELETE FROM job_event_watchers WHERE job_id = $1 AND process_id = $2", [jobId, processId]);
  }

  async refresh(jobIds: string[], processId: string, ttlSeconds: number): Promise<void> {
    if (jobIds.length === 0) return;
    await this.connection.query(
      `INSERT INTO job_event_watchers (job_id, process_id, expires_at)
       SELECT job_id, $2, (now() AT TIME ZONE 'UTC') + make_interval(secs => $3) FROM unnest($1::text[]) AS job_id
       ON CONFLICT (job_id, process_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [jobIds, processId, ttlSeconds],
    );
  }

  /** Rows that processes which died left behind. */
  async deleteExpired(): Promise<void> {
    await this.connection.query("DELETE FROM job_event_watchers WHERE expires_at < (now() AT TIME ZONE 'UTC') - interval '1 hour'");
  }

  async listen(onJob: (jobId: string) => void, onLost: (error?: unknown) => void): Promise<EventListenerConnection> {
    // TCP keep-alive, and a ping with a timeout from the caller: a connection dropped silently (a NAT
    // or firewall forgetting it) raises no error by itself.
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true, keepAliveInitialDelayMillis: 10_000, query_timeout: 10_000 });
    this.listeners.add(client);
    let lost = false;
    const lose = (error?: unknown) => {
      if (lost) return;
      lost = true;
      this.listeners.delete(client);
      void client.end().catch(() => undefined);
      onLost(error);
    };
    client.on("notification", (message) => {
      if (message.payload) onJob(message.payload);
    });
    // Without an error listener a dropped connection would crash the process.
    client.on("error", (error) => lose(error));
    client.on("end", () => lose());
    try {
      await client.connect();
      await client.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
    } catch (error) {
      lose(error);
      throw error;
    }
    return {
      ping: async () => {
        await client.query("SELECT 1");
      },
      close: async () => {
        lost = true;
        this.listeners.delete(client);
        await client.end().catch(() => undefined);
      },
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners].map((client) => client.end().catch(() => undefined)));
    this.listeners.clear();
  }
}
