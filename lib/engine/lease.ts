import "server-only";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/**
 * Lease owners name the host and pid, so that after a kill -9 the restarted server on the same
 * host can take over its dead predecessor's leases at once instead of waiting for them to expire.
 * The store (leaseRun) decides who holds an execution; these helpers only name and judge owners.
 */
export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/** The prefix of every owner on this host. */
export function localOwnerPrefix(): string {
  return `${hostname()}:`;
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
