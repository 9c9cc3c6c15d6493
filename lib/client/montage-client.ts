/**
 * A small typed client for Montage's HTTP API, for programs that call it (Node 20+, Deno, Bun,
 * browsers): `fetch` and Web Crypto only, no server modules. The request and answer types come from
 * the OpenAPI document (./openapi-types.ts, generated; never edited by hand).
 *
 *   const montage = createMontageClient({ baseUrl: "https://montage.example.com", token });
 *   const { job_id } = await montage.execute({ workflowId: "img-edit-to-video", file, filename: "photo.jpg" });
 *   for await (const event of montage.events(job_id)) console.log(event.event, event.data);
 *   const { job } = await montage.execution(job_id);
 *
 * `events` follows the job's server-sent events and reconnects with `Last-Event-ID` when the
 * connection drops, so no event is lost or repeated; it ends after the job's terminal event
 * (`complete` or `error`). `verifyWebhook` checks a Standard Webhooks delivery (docs/api.md).
 */
import type { components, paths } from "./openapi-types";

export type Job = components["schemas"]["Job"];
export type ApiErrorBody = components["schemas"]["Error"];
export type ExecuteAnswer = paths["/workflows/execute"]["post"]["responses"]["202"]["content"]["application/json"];
export type ExecutionDetails = paths["/workflows/execution/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"];
export type WorkflowList = paths["/workflows/list"]["get"]["responses"]["200"]["content"]["application/json"];

/** One server-sent event of a job's stream: its id (for Last-Event-ID), name and parsed JSON data. */
export interface StreamEvent {
  id: number;
  event: "progress" | "checkpoint" | "retry_scheduled" | "awaiting" | "complete" | "error";
  data: Record<string, unknown>;
}

const TERMINAL_EVENTS = new Set(["complete", "error"]);

/** An answer in Montage's error shape (or a failure before one): `code` is the API's error code. */
export class MontageApiError extends Error {
  override readonly name = "MontageApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface MontageClientOptions {
  /** e.g. "https://montage.example.com" (no trailing path). */
  baseUrl: string;
  /** An API token (`npm run token:create`, or the API tokens page). */
  token: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** How long `events` waits before reconnecting after a dropped connection (default 1000 ms). */
  reconnectDelayMs?: number;
  /** Reconnects `events` tries in a row without receiving an event before it gives up (default 10). */
  maxReconnects?: number;
}

export interface ExecuteRequest {
  workflowId: string;
  /** The image: a Blob (or File), or bytes. */
  file: Blob | Uint8Array;
  filename?: string;
  /** The workflow's declared inputs, e.g. {edit_prompt: "..."}. */
  inputs?: Record<string, string>;
  /** Steps to stop before until approved (POST /workflows/approve). */
  approveBefore?: string[];
  webhookUrl?: string;
  webhookEvents?: StreamEvent["event"][];
  /** The whole run must end within this many seconds, else it fails with deadline_exceeded. */
  deadlineSeconds?: number;
  /** Sent as Idempotency-Key: resending the same request answers the same job. */
  idempotencyKey?: string;
}

export interface MontageClient {
  listWorkflows(): Promise<WorkflowList>;
  /** POST /workflows/execute (multipart). `replayed` is true when an Idempotency-Key replay answered. */
  execute(request: ExecuteRequest): Promise<ExecuteAnswer & { replayed: boolean }>;
  /** GET /workflows/execution/<job_id>: the job, its execution, checkpoints, steps, cost and reruns. */
  execution(jobId: string): Promise<ExecutionDetails>;
  /** The job's events from after `lastEventId` (default: all), reconnecting as needed, until its terminal event. */
  events(jobId: string, options?: { lastEventId?: number; signal?: AbortSignal }): AsyncGenerator<StreamEvent>;
  /** Follows the stream to the end and answers the job's details (completed, failed or canceled). */
  waitForResult(jobId: string, options?: { signal?: AbortSignal }): Promise<ExecutionDetails>;
  /** Downloads a result file (e.g. `job.result.video_url`), with the token when it is Montage's own URL. */
  download(url: string): Promise<Uint8Array>;
}

export function createMontageClient(options: MontageClientOptions): MontageClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const auth = { authorization: `Bearer ${options.token}` };
  const reconnectDelayMs = options.reconnectDelayMs ?? 1000;
  const maxReconnects = options.maxReconnects ?? 10;

  async function call<T>(path: string, init: RequestInit = {}): Promise<{ body: T; response: Response }> {
    const response = await fetchImpl(`${baseUrl}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });
    if (!response.ok) throw await apiError(response);
    return { body: (await response.json()) as T, response };
  }

  async function* events(jobId: string, eventOptions: { lastEventId?: number; signal?: AbortSignal } = {}): AsyncGenerator<StreamEvent> {
    let lastEventId = eventOptions.lastEventId;
    let failures = 0;
    for (;;) {
      eventOptions.signal?.throwIfAborted();
      let response: Response;
      try {
        response = await fetchImpl(`${baseUrl}/jobs/${encodeURIComponent(jobId)}/stream`, {
          headers: { ...auth, accept: "text/event-stream", ...(lastEventId !== undefined && { "last-event-id": String(lastEventId) }) },
          ...(eventOptions.signal && { signal: eventOptions.signal }),
        });
      } catch (error) {
        if (eventOptions.signal?.aborted || ++failures > maxReconnects) throw error;
        await sleep(reconnectDelayMs, eventOptions.signal);
        continue;
      }
      // 4xx (unknown job, bad token) will not heal by reconnecting; 429 and 5xx may.
      if (!response.ok) {
        const error = await apiError(response);
        if ((response.status < 500 && response.status !== 429) || ++failures > maxReconnects) throw error;
        await sleep(reconnectDelayMs, eventOptions.signal);
        continue;
      }
      try {
        for await (const event of parseEventStream(response.body!)) {
          failures = 0;
          lastEventId = event.id;
          yield event;
          if (TERMINAL_EVENTS.has(event.event)) return;
        }
      } catch (error) {
        if (eventOptions.signal?.aborted) throw error;
        // The connection dropped mid-stream: reconnect from the last event seen.
      }
      // Ended without a terminal event (dropped, or a slow reader cut off): reconnect.
      if (++failures > maxReconnects) throw new MontageApiError(0, "stream_ended", `The stream of job ${jobId} kept ending before the job did`);
      await sleep(reconnectDelayMs, eventOptions.signal);
    }
  }

  return {
    listWorkflows: async () => (await call<WorkflowList>("/workflows/list")).body,

    async execute(request) {
      const form = new FormData();
      form.append("workflow_id", request.workflowId);
      for (const [name, value] of Object.entries(request.inputs ?? {})) form.append(name, value);
      for (const step of request.approveBefore ?? []) form.append("approve_before", step);
      if (request.webhookUrl !== undefined) form.append("webhook_url", request.webhookUrl);
      if (request.webhookEvents !== undefined) form.append("webhook_events", request.webhookEvents.join(","));
      if (request.deadlineSeconds !== undefined) form.append("deadline_seconds", String(request.deadlineSeconds));
      const file = request.file instanceof Blob ? request.file : new Blob([request.file as Uint8Array<ArrayBuffer>]);
      form.append("file", file, request.filename ?? "upload");
      const headers: Record<string, string> = request.idempotencyKey ? { "idempotency-key": request.idempotencyKey } : {};
      const { body, response } = await call<ExecuteAnswer>("/workflows/execute", { method: "POST", body: form, headers });
      return { ...body, replayed: response.headers.get("idempotent-replayed") === "true" };
    },

    execution: async (jobId) => (await call<ExecutionDetails>(`/workflows/execution/${encodeURIComponent(jobId)}`)).body,

    events,

    async waitForResult(jobId, waitOptions = {}) {
      for await (const event of events(jobId, waitOptions)) void event;
      return (await call<ExecutionDetails>(`/workflows/execution/${encodeURIComponent(jobId)}`)).body;
    },

    async download(url) {
      const absolute = new URL(url, `${baseUrl}/`);
      const own = absolute.origin === new URL(baseUrl).origin;
      const response = await fetchImpl(absolute, own ? { headers: auth } : {});
      if (!response.ok) throw await apiError(response);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

async function apiError(response: Response): Promise<MontageApiError> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as Partial<ApiErrorBody>;
    if (body.error?.code) return new MontageApiError(response.status, body.error.code, body.error.message ?? body.error.code);
  } catch {
    // not the error shape (a proxy's page): described by its status below
  }
  return new MontageApiError(response.status, `http_${response.status}`, `HTTP ${response.status} ${response.statusText}`);
}

/**
 * Server-sent events from a response body (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * `id:`, `event:` and `data:` fields, events ended by a blank line, comments (`: heartbeat`) skipped.
 */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = "";
  let id: number | undefined;
  let event = "message";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (data.length > 0 && id !== undefined) yield { id, event: event as StreamEvent["event"], data: JSON.parse(data.join("\n")) as Record<string, unknown> };
          event = "message";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id" && /^\d+$/.test(value)) id = Number(value);
        else if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

/** The headers of a Standard Webhooks delivery, as a Headers object or a plain record (any case). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** A verified delivery: the event's name, when it happened, and its data (job_id, event_id and the stream event's fields). */
export interface WebhookEvent {
  type: StreamEvent["event"];
  timestamp: string;
  data: Record<string, unknown> & { job_id: string; event_id: number };
}

/**
 * Verifies a Montage webhook delivery (Standard Webhooks) and answers its parsed body; throws
 * when the signature is not the secret's over `<webhook-id>.<webhook-timestamp>.<raw body>`, or
 * the timestamp is more than `toleranceSeconds` (default 300) from now. Pass the body exactly as
 * received (before any JSON parsing). `secret` is yours from GET /api/webhook-secret ("whsec_…").
 */
export async function verifyWebhook(secret: string, headers: WebhookHeaders, rawBody: string, options: { toleranceSeconds?: number; now?: Date } = {}): Promise<WebhookEvent> {
  const header = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
    return Array.isArray(entry) ? entry[0] : entry;
  };
  const id = header("webhook-id");
  const timestamp = header("webhook-timestamp");
  const signatures = header("webhook-signature");
  if (!id || !timestamp || !signatures) throw new Error("Not a Standard Webhooks delivery: webhook-id, webhook-timestamp or webhook-signature is missing");
  if (!/^\d{1,12}$/.test(timestamp)) throw new Error("webhook-timestamp is not a Unix time in seconds");
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) throw new Error("webhook-timestamp is too far from now (a replay, or a clock off)");

  const key = await crypto.subtle.importKey("raw", base64Bytes(secret.replace(/^whsec_/, "")), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${rawBody}`);
  // Several space-separated signatures may be sent (a secret being rotated): one valid one suffices.
  for (const candidate of signatures.split(" ")) {
    const [version, signature] = candidate.split(",", 2);
    if (version !== "v1" || !signature) continue;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = base64Bytes(signature);
    } catch {
      continue;
    }
    // crypto.subtle.verify compares in constant time.
    if (await crypto.subtle.verify("HMAC", key, bytes, signed)) return JSON.parse(rawBody) as WebhookEvent;
  }
  throw new Error("No webhook-signature matches: not signed with this secret");
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
