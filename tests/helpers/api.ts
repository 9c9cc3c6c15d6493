import { readFileSync } from "node:fs";
import path from "node:path";
import { createApiToken } from "@/lib/auth/tokens";
import type { Checkpoints } from "@/lib/contract/events";
import { runtime } from "@/lib/server/runtime";
import { checkpointLayout } from "@/lib/store/checkpoints";

export const FIXTURE_JPEG = readFileSync(path.resolve(import.meta.dirname, "../fixtures/photo.jpg"));
export const BASE = "http://localhost:3999";

export async function createUserWithToken(email: string): Promise<{ userId: string; token: string; tokenId: string }> {
  const { prisma, store } = runtime();
  const user = await prisma.user.create({ data: { email } });
  const { token, record } = await createApiToken(store, user.id, "test");
  return { userId: user.id, token, tokenId: record.id };
}

export function executeRequest(
  token: string | undefined,
  fields: Record<string, string | Blob>,
  init: { headers?: Record<string, string> } = {},
): Request {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return new Request(`${BASE}/workflows/execute`, {
    method: "POST",
    body: form,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...init.headers },
  });
}

export function jpegBlob(data: Buffer = FIXTURE_JPEG, type = "image/jpeg"): Blob {
  return new Blob([new Uint8Array(data)], { type });
}

export function authed(token: string, url: string, init: RequestInit = {}): Request {
  return new Request(`${BASE}${url}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
}

export const jobParams = (jobId: string) => ({ params: Promise.resolve({ jobId }) });

/** A job as the store reads it, with its checkpoints in the note's layout. */
export async function readJob(jobId: string) {
  const job = await runtime().store.getJob(jobId);
  if (!job) throw new Error(`no job ${jobId}`);
  return { ...job, layout: checkpointLayout(job.checkpoints) as Checkpoints };
}

/** A job's events, oldest first, with their data parsed. */
export async function eventsOf(jobId: string, type?: string): Promise<{ id: number; type: string; data: Record<string, unknown> }[]> {
  const events = await runtime().store.readEvents(jobId, 0, 100_000);
  return events.filter((event) => type === undefined || event.type === type).map((event) => ({ id: event.id, type: event.type, data: JSON.parse(event.json) as Record<string, unknown> }));
}

/** Polls the database until the job reaches one of the statuses (the engine runs in this process). */
export async function waitForJobStatus(jobId: string, statuses: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await runtime().store.getJob(jobId);
    if (job && statuses.includes(job.status)) return { ...job, layout: checkpointLayout(job.checkpoints) as Checkpoints };
    if (Date.now() > deadline) throw new Error(`job ${jobId} is ${job?.status}, expected ${statuses.join("|")}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Reads a whole SSE response (it closes after the job ends) into events. */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .map((block) => block.split("\n"))
    .filter((lines) => lines.some((line) => line.startsWith("event: ")))
    .map((lines) => {
      const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))!.slice(name.length + 2);
      return { id: Number(field("id")), event: field("event"), data: JSON.parse(field("data")) as Record<string, unknown> };
    });
}
