import { readFileSync } from "node:fs";
import path from "node:path";
import { createApiToken } from "@/lib/auth/tokens";
import { db } from "@/lib/db/client";

export const FIXTURE_JPEG = readFileSync(path.resolve(import.meta.dirname, "../fixtures/photo.jpg"));
export const BASE = "http://localhost:3999";

export async function createUserWithToken(email: string): Promise<{ userId: string; token: string; tokenId: string }> {
  const user = await db().user.create({ data: { email } });
  const { token, record } = await createApiToken(db(), user.id, "test");
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

/** Polls the database until the job reaches one of the statuses (the engine runs in this process). */
export async function waitForJobStatus(jobId: string, statuses: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await db().job.findUnique({ where: { id: jobId }, include: { execution: true } });
    if (job && statuses.includes(job.status)) return job;
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
