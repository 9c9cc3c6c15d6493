import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Db } from "@/lib/db/client";

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

export async function acquireLease(database: Db, jobId: string, owner: string, ttlMs: number): Promise<boolean> {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs);
  const free = await database.workflowExecution.updateMany({
    where: { jobId, OR: [{ leaseOwner: null }, { leaseExpiresAt: { lt: now } }, { leaseOwner: owner }] },
    data: { leaseOwner: owner, leaseExpiresAt: expiresAt },
  });
  if (free.count === 1) return true;
  const current = await database.workflowExecution.findUnique({ where: { jobId }, select: { leaseOwner: true } });
  if (!current?.leaseOwner || !isDeadLocalOwner(current.leaseOwner)) return false;
  // Compare-and-set on the dead owner's id: of two restarted processes racing here, one wins.
  const stolen = await database.workflowExecution.updateMany({
    where: { jobId, leaseOwner: current.leaseOwner },
    data: { leaseOwner: owner, leaseExpiresAt: expiresAt },
  });
  return stolen.count === 1;
}

/** Extends the lease; false when it was lost (expired and taken by someone else). */
export async function renewLease(database: Db, jobId: string, owner: string, ttlMs: number): Promise<boolean> {
  const renewed = await database.workflowExecution.updateMany({
    where: { jobId, leaseOwner: owner },
    data: { leaseExpiresAt: new Date(Date.now() + ttlMs) },
  });
  return renewed.count === 1;
}

export async function releaseLease(database: Db, jobId: string, owner: string): Promise<void> {
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
