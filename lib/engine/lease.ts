import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { dialectOf, onPostgresPool, onSqliteConnection, postgresTime, sqliteStatement, sqliteTime, type Db } from "@/lib/db/client";

/**
 * Leases make sure that two processes (or two sweeps) never run one execution at once. The owner
 * id names the host and pid, so that after a kill -9 the restarted server on the same host can
 * take over its dead predecessor's leases at once instead of waiting for them to expire.
 */
export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/** True when the owner ran on this host in a process that no longer exists. */
export function isDeadLocalOwner(owner: string): boolean {
  const [host, pidText] = owner.split(":");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/*
 * Taking, renewing and releasing a lease happen once or more per run, so on clients made by
 * createDb they are written as SQL (one statement each, parameters only), like the step commit
 * in lib/engine/executor.ts: a Prisma model query costs about 0.4 ms of CPU on SQLite and 1 ms on
 * PostgreSQL, the same statement as raw SQL a fraction of that (docs/performance.md). A client
 * of unknown dialect gets the same writes through Prisma's models. Timestamps are written in
 * Prisma's formats, so that Prisma's own comparisons (findOrphanedJobs) read them the same way.
 */

/**
 * One write statement on SQLite: on the client's own connection (see onSqliteConnection), else
 * through Prisma's raw query. Returns the rows changed.
 */
async function sqliteWrite(database: Db, sql: string, ...params: unknown[]): Promise<number> {
  const direct = onSqliteConnection(database, (connection) => Number(sqliteStatement(connection, sql).run(...params).changes));
  return direct ?? database.$executeRawUnsafe(sql, ...params);
}

/** One write statement on PostgreSQL: on the client's own pool (see onPostgresPool), else through Prisma's raw query. */
async function postgresWrite(database: Db, sql: string, ...params: unknown[]): Promise<number> {
  const direct = onPostgresPool(database, sql, params);
  return direct ? (await direct).rowCount : database.$executeRawUnsafe(sql, ...params);
}

/**
 * The compare-and-set that takes a lease that is free, expired or already ours. SQLite parameters:
 * owner, expires at, now, job id, now, owner. PostgreSQL: $1 owner, $2 expires at, $3 now, $4 job id.
 */
const TAKE_FREE_LEASE_SQLITE =
  "UPDATE workflow_executions SET lease_owner = ?, lease_expires_at = ?, updated_at = ? WHERE job_id = ? AND (lease_owner IS NULL OR lease_expires_at < ? OR lease_owner = ?)";
const TAKE_FREE_LEASE_POSTGRES = {
  set: "lease_owner = $1, lease_expires_at = $2::timestamp(3), updated_at = $3::timestamp(3)",
  where: "job_id = $4 AND (lease_owner IS NULL OR lease_expires_at < $3::timestamp(3) OR lease_owner = $1)",
};

function takeFreeLeaseParams(jobId: string, owner: string, now: Date, expiresAt: Date): unknown[] {
  const at = sqliteTime(now);
  return [owner, sqliteTime(expiresAt), at, jobId, at, owner];
}

/** Compare-and-set of the lease: free, expired or already ours. Returns whether it was taken. */
async function takeFreeLease(database: Db, jobId: string, owner: string, now: Date, expiresAt: Date): Promise<boolean> {
  const dialect = dialectOf(database);
  if (dialect === "sqlite") {
    return (await sqliteWrite(database, TAKE_FREE_LEASE_SQLITE, ...takeFreeLeaseParams(jobId, owner, now, expiresAt))) === 1;
  }
  if (dialect === "postgresql") {
    const updated = await postgresWrite(
      database,
      `UPDATE workflow_executions SET ${TAKE_FREE_LEASE_POSTGRES.set} WHERE ${TAKE_FREE_LEASE_POSTGRES.where}`,
      owner,
      postgresTime(expiresAt),
      postgresTime(now),
      jobId,
    );
    return updated === 1;
  }
  const free = await database.workflowExecution.updateMany({
    where: { jobId, OR: [{ leaseOwner: null }, { leaseExpiresAt: { lt: now } }, { leaseOwner: owner }] },
    data: { leaseOwner: owner, leaseExpiresAt: expiresAt },
  });
  return free.count === 1;
}

export async function acquireLease(database: Db, jobId: string, owner: string, ttlMs: number): Promise<boolean> {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs);
  if (await takeFreeLease(database, jobId, owner, now, expiresAt)) return true;
  // Held by someone else: the rare path, through Prisma's models.
  const current = await database.workflowExecution.findUnique({ where: { jobId }, select: { leaseOwner: true } });
  if (!current?.leaseOwner || !isDeadLocalOwner(current.leaseOwner)) return false;
  // Compare-and-set on the dead owner's id: of two restarted processes racing here, one wins.
  const stolen = await database.workflowExecution.updateMany({
    where: { jobId, leaseOwner: current.leaseOwner },
    data: { leaseOwner: owner, leaseExpiresAt: expiresAt },
  });
  return stolen.count === 1;
}

/**
 * Takes a free lease (as acquireLease's first try) and reads `columns` of the execution (`e.`) and
 * its job (`j.`) under it: on PostgreSQL one `UPDATE ... FROM jobs ... RETURNING` (one round trip
 * instead of two), on SQLite the lease update and a select in one synchronous transaction. So the
 * row read is the one the lease protects. Resolves undefined when the lease was not free (or the
 * job is gone); the whole call is undefined when the client has no direct connection (see
 * onSqliteConnection and onPostgresPool): the caller then takes the two steps separately.
 */
export function takeFreeLeaseReading<Row>(database: Db, jobId: string, owner: string, ttlMs: number, columns: string): Promise<Row | undefined> | undefined {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs);
  const dialect = dialectOf(database);
  if (dialect === "sqlite") {
    const read = `SELECT ${columns} FROM workflow_executions e JOIN jobs j ON j.id = e.job_id WHERE e.job_id = ?`;
    return onSqliteConnection(
      database,
      (connection) =>
        Number(sqliteStatement(connection, TAKE_FREE_LEASE_SQLITE).run(...takeFreeLeaseParams(jobId, owner, now, expiresAt)).changes) === 1
          ? (sqliteStatement(connection, read).get(jobId) as Row | undefined)
          : undefined,
      { transaction: true },
    );
  }
  if (dialect === "postgresql") {
    const sql = `UPDATE workflow_executions e SET ${TAKE_FREE_LEASE_POSTGRES.set} FROM jobs j WHERE j.id = e.job_id AND e.${TAKE_FREE_LEASE_POSTGRES.where} RETURNING ${columns}`;
    return onPostgresPool<Row>(database, sql, [owner, postgresTime(expiresAt), postgresTime(now), jobId])?.then((result) => result.rows[0]);
  }
  return undefined;
}

/** Extends the lease; false when it was lost (expired and taken by someone else). */
export async function renewLease(database: Db, jobId: string, owner: string, ttlMs: number): Promise<boolean> {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs);
  const dialect = dialectOf(database);
  if (dialect === "sqlite") {
    const renewed = await sqliteWrite(
      database,
      "UPDATE workflow_executions SET lease_expires_at = ?, updated_at = ? WHERE job_id = ? AND lease_owner = ?",
      sqliteTime(expiresAt),
      sqliteTime(now),
      jobId,
      owner,
    );
    return renewed === 1;
  }
  if (dialect === "postgresql") {
    const renewed = await postgresWrite(
      database,
      "UPDATE workflow_executions SET lease_expires_at = $1::timestamp(3), updated_at = $2::timestamp(3) WHERE job_id = $3 AND lease_owner = $4",
      postgresTime(expiresAt),
      postgresTime(now),
      jobId,
      owner,
    );
    return renewed === 1;
  }
  const renewed = await database.workflowExecution.updateMany({
    where: { jobId, leaseOwner: owner },
    data: { leaseExpiresAt: expiresAt },
  });
  return renewed.count === 1;
}

export async function releaseLease(database: Db, jobId: string, owner: string): Promise<void> {
  const dialect = dialectOf(database);
  if (dialect === "sqlite") {
    await sqliteWrite(
      database,
      "UPDATE workflow_executions SET lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE job_id = ? AND lease_owner = ?",
      sqliteTime(new Date()),
      jobId,
      owner,
    );
    return;
  }
  if (dialect === "postgresql") {
    await postgresWrite(
      database,
      "UPDATE workflow_executions SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $1::timestamp(3) WHERE job_id = $2 AND lease_owner = $3",
      postgresTime(new Date()),
      jobId,
      owner,
    );
    return;
  }
  await database.workflowExecution.updateMany({
    where: { jobId, leaseOwner: owner },
    data: { leaseOwner: null, leaseExpiresAt: null },
  });
}

/**
 * Jobs that should be running but whose runner is gone: running or queued, with no lease, an
 * expired lease, or a lease held by a dead process on this host.
 */
export async function findOrphanedJobs(database: Db, limit: number): Promise<string[]> {
  const now = new Date();
  const candidates = await database.workflowExecution.findMany({
    where: {
      job: { status: { in: ["running", "queued"] } },
      OR: [{ leaseOwner: null }, { leaseExpiresAt: { lt: now } }, { leaseOwner: { startsWith: `${hostname()}:` } }],
    },
    select: { jobId: true, leaseOwner: true, leaseExpiresAt: true },
    orderBy: { createdAt: "asc" },
    take: limit,
  });
  return candidates
    .filter((c) => !c.leaseOwner || (c.leaseExpiresAt && c.leaseExpiresAt < now) || isDeadLocalOwner(c.leaseOwner))
    .map((c) => c.jobId);
}
