import "server-only";
import { ApiError } from "@/lib/api/errors";

/** The longest deadline a run may be given: a week (a run waiting longer is better canceled). */
export const MAX_DEADLINE_SECONDS = 7 * 24 * 3600;
export const DEADLINE_FIELD = "deadline_seconds";

/**
 * Execute's (and a rerun form's) `deadline_seconds`: a whole number of seconds, 1 to a week, from
 * the request, within which the whole run must end (lib/engine/deadlines.ts). Absent: no deadline.
 */
export function deadlineSecondsOf(fields: Map<string, string>): number | undefined {
  const raw = fields.get(DEADLINE_FIELD)?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_DEADLINE_SECONDS) {
    throw new ApiError("invalid_form", `${DEADLINE_FIELD} must be a whole number of seconds from 1 to ${MAX_DEADLINE_SECONDS}.`);
  }
  return Number(raw);
}

export function withoutDeadlineField(fields: Map<string, string>): Map<string, string> {
  return new Map([...fields].filter(([name]) => name !== DEADLINE_FIELD));
}

/** When a run given `seconds` now must have ended. */
export function deadlineFrom(seconds: number | undefined, now: Date = new Date()): Date | undefined {
  return seconds === undefined ? undefined : new Date(now.getTime() + seconds * 1000);
}

/** A manual retry's fresh deadline: as long as the job's first one was, from now (none if it had none). */
export function retryDeadline(job: { deadlineAt: Date | null; createdAt: Date }, now: Date = new Date()): Date | undefined {
  if (job.deadlineAt === null) return undefined;
  return new Date(now.getTime() + Math.max(1000, job.deadlineAt.getTime() - job.createdAt.getTime()));
}
