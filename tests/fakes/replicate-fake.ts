/**
 * A local fake of Replicate's HTTP API (https://replicate.com/docs/reference/http), enough for the real
 * `replicate` SDK: model-based prediction creates, GET/cancel, account, webhook secret, signed
 * webhooks (Standard Webhooks), and output files served from its own `/delivery/...` path.
 *
 * Faithful where Montage depends on it: status codes and problem bodies `{title, detail, status}`,
 * unknown top-level fields refused with 422, Bearer auth, statuses starting → processing → terminal.
 * Simplified, and uncertain against the real API: the exact 422 wording for unknown fields, cancel of
 * a finished prediction (answered 200 with the prediction unchanged), webhook retries (not done here),
 * `version` of official models (real: a hash or "hidden"), `Prefer: wait` (ignored).
 *
 * `Cancel-After` (a prediction's deadline, counted from its creation): as Replicate documents it, a
 * prediction still `starting` when it passes ends `aborted`, one `processing` ends `canceled`.
 * Durations are whole numbers with an optional unit (`s` default, `m`, `h`), combinable ("1m30s").
 * Uncertain: Replicate's answer to a malformed or too short value (here 422, minimum 5 s).
 */
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export type FakeStatus = "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";
type Terminal = "succeeded" | "failed" | "canceled" | "aborted";

export interface FakeOutputFile {
  body: Buffer;
  contentType: string;
  filename: string;
}

/** How the next created prediction ends. */
export type ScriptedOutcome =
  | { status: "succeeded"; files?: FakeOutputFile[]; asArray?: boolean }
  | { status: "failed"; error: string }
  | { status: "canceled" }
  | { status: "aborted" };

export type FakeRoute = "create" | "get" | "cancel" | "account" | "webhook_secret" | "*";

export interface InjectedFailure {
  route: FakeRoute;
  status: number;
  /** Sent as the Retry-After header. */
  retryAfter?: string;
  /** For 429: the N in "Your rate limit resets in ~Ns." (default 30). */
  resetSeconds?: number;
  /** Overrides the problem document's detail. */
  detail?: string;
  /** How many requests fail (default: all, until cleared). */
  times?: number;
}

export interface ReplicateFakeOptions {
  token?: string;
  webhookSecret?: string;
  /** Default output of succeeded predictions (default: a 1×1 PNG). */
  output?: FakeOutputFile;
  /** Default output per model, e.g. an mp4 for "minimax/video-01" (else `output`). */
  modelOutputs?: Record<string, FakeOutputFile>;
  /** Input fields each model requires, e.g. {"google/nano-banana": ["prompt"]}. */
  requiredInputs?: Record<string, string[]>;
  /**
   * Models whose output is a list of URLs even for one file, as their output schema says (e.g.
   * black-forest-labs/flux-schnell: `{"type": "array", "items": {"format": "uri"}}`); the others
   * answer a single file as one URL.
   */
  listOutputs?: string[];
}

export interface WebhookDelivery {
  url: string;
  event: string;
  webhookId: string;
  timestamp: number;
  body: string;
  status: number | "error";
}

interface FakePrediction {
  json: Record<string, unknown> & { id: string; status: FakeStatus };
  outcome: ScriptedOutcome;
  polls: number;
  timer: NodeJS.Timeout | undefined;
  files: FakeOutputFile[];
  /** The Cancel-After the create sent, in seconds, and its timer. */
  cancelAfterSeconds: number | undefined;
  deadlineTimer: NodeJS.Timeout | undefined;
}

const ALLOWED_CREATE_FIELDS = new Set(["input", "webhook", "webhook_events_filter", "stream"]);
const ALLOWED_VERSION_CREATE_FIELDS = new Set([...ALLOWED_CREATE_FIELDS, "version"]);
const WEBHOOK_EVENTS = new Set(["start", "output", "logs", "completed"]);
const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

/** Standard Webhooks signature, written independently of the production verifier. */
export function signWebhook(secret: string, webhookId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return `v1,${createHmac("sha256", key).update(`${webhookId}.${timestamp}.${body}`).digest("base64")}`;
}

export class ReplicateFake {
  readonly token: string;
  readonly webhookSecret: string;
  /** When predictions finish: after this many GETs, or after this many ms (webhook tests). */
  completeAfter: { polls: number } | { ms: number } = { polls: 2 };
  /** Delay before a webhook is sent; `dropWebhooks` loses them (to test the polling fallback). */
  webhookDelayMs = 0;
  dropWebhooks = false;
  /** The next N creates succeed but their connection is cut before the answer (an ambiguous failure). */
  resetAfterCreate = 0;
  /** `metrics.predict_time` of finished predictions: the hardware seconds Replicate bills. */
  predictTimeSeconds = 0.1;

  readonly predictions = new Map<string, FakePrediction>();
  readonly cancellations: string[] = [];
  /** Predictions ended by their Cancel-After deadline, with the status it gave them. */
  readonly deadlineEnds: Array<{ id: string; status: "aborted" | "canceled" }> = [];
  readonly webhookDeliveries: WebhookDelivery[] = [];
  readonly requests: Array<{ method: string; path: string }> = [];
  creations = 0;

  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly output: FakeOutputFile;
  private readonly modelOutputs: Record<string, FakeOutputFile>;
  private readonly requiredInputs: Record<string, string[]>;
  private readonly listOutputs: Set<string>;
  private readonly scripted: ScriptedOutcome[] = [];
  private failures: InjectedFailure[] = [];
  private pending = new Set<Promise<unknown>>();
  private port = 0;

  constructor(options: ReplicateFakeOptions = {}) {
    this.token = options.token ?? "r8_fake_token_0123456789";
    this.webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString("base64")}`;
    this.output = options.output ?? { body: TINY_PNG, contentType: "image/png", filename: "output.png" };
    this.requiredInputs = options.requiredInputs ?? {};
    this.modelOutputs = options.modelOutputs ?? {};
    this.listOutputs = new Set(options.listOutputs ?? []);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const prediction of this.predictions.values()) {
      clearTimeout(prediction.timer);
      clearTimeout(prediction.deadlineTimer);
    }
    await Promise.allSettled([...this.pending]);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /** What the SDK takes as `baseUrl`. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }
  /** host:port of the delivery path, for an output allowlist. */
  get deliveryHost(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next created predictions end like this, in order; afterwards they succeed. */
  script(...outcomes: ScriptedOutcome[]): void {
    this.scripted.push(...outcomes);
  }

  fail(failure: InjectedFailure): void {
    this.failures.push({ ...failure });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Simulates the one-hour retention: outputs become null and delivery answers 404. */
  expireOutputs(): void {
    for (const prediction of this.predictions.values()) {
      if (prediction.json.status !== "succeeded") continue;
      prediction.json.output = null;
      prediction.json.data_removed = true;
      prediction.files = [];
    }
  }

  /** Finishes a prediction now, as scripted (or as given). */
  finish(id: string, outcome?: ScriptedOutcome): void {
    const prediction = this.predictions.get(id);
    if (!prediction) throw new Error(`No fake prediction ${id}`);
    if (outcome) prediction.outcome = outcome;
    this.complete(prediction);
  }

  /** Creates a prediction directly (as if an earlier run had), e.g. to seed a step's state. */
  seed(model: string, outcome: ScriptedOutcome, status?: FakeStatus): string {
    const prediction = this.createPrediction(model, { input: {} }, outcome);
    if (status && status !== "starting") {
      if (status === "processing") this.markProcessing(prediction);
      else this.complete(prediction, status);
    }
    return prediction.json.id;
  }

  // --- HTTP -------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname });
    const body = await readBody(req);

    const delivery = /^\/delivery\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (method === "GET" && delivery) return this.serveFile(res, delivery[1] ?? "", delivery[2] ?? "");

    const route = routeOf(method, url.pathname);
    const failure = this.takeFailure(route.name);
    if (failure) return this.sendFailure(res, failure);

    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return sendJson(res, 401, {
        title: "Unauthenticated",
        detail: "You did not pass a valid authentication token",
        status: 401,
      });
    }

    switch (route.name) {
      case "create":
        return this.handleCreate(res, route.model, body, req.headers["cancel-after"]);
      case "get": {
        const prediction = this.predictions.get(route.id);
        if (!prediction) return notFound(res);
        this.advance(prediction);
        return sendJson(res, 200, prediction.json);
      }
      case "cancel": {
        const prediction = this.predictions.get(route.id);
        if (!prediction) return notFound(res);
        this.cancellations.push(route.id);
        if (!isTerminal(prediction.json.status)) this.complete(prediction, "canceled");
        return sendJson(res, 200, prediction.json);
      }
      case "account":
        return sendJson(res, 200, { type: "user", username: "montage-test", name: "Montage Test", github_url: null });
      case "webhook_secret":
        return sendJson(res, 200, { key: this.webhookSecret });
      default:
        return notFound(res);
    }
  }

  private handleCreate(res: http.ServerResponse, model: string | undefined, rawBody: string, cancelAfterHeader: string | string[] | undefined): void {
    let cancelAfterSeconds: number | undefined;
    if (cancelAfterHeader !== undefined) {
      cancelAfterSeconds = parseCancelAfter(String(cancelAfterHeader));
      if (cancelAfterSeconds === undefined || cancelAfterSeconds < 5) {
        return sendJson(res, 422, { title: "Invalid Cancel-After header", detail: "Cancel-After must be a duration of at least 5s, e.g. 30s, 5m, 1h", status: 422 });
      }
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      return sendJson(res, 400, { title: "Invalid JSON", detail: "The request body is not valid JSON", status: 400 });
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return validationFailed(res, [{ field: "(root)", description: "Invalid type. Expected: object" }]);
    }
    const fields = body as Record<string, unknown>;
    const allowed = model ? ALLOWED_CREATE_FIELDS : ALLOWED_VERSION_CREATE_FIELDS;
    const problems: Array<{ field: string; description: string }> = [];
    for (const key of Object.keys(fields)) {
      if (!allowed.has(key)) problems.push({ field: "(root)", description: `Additional property ${key} is not allowed` });
    }
    if (!model && typeof fields.version !== "string") problems.push({ field: "(root)", description: "version is required" });
    const input = fields.input;
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      problems.push({ field: "(root)", description: "input is required" });
    }
    if (fields.webhook !== undefined && !isUrl(fields.webhook)) {
      problems.push({ field: "webhook", description: "Does not match format 'uri'" });
    }
    const filter = fields.webhook_events_filter;
    if (filter !== undefined && (!Array.isArray(filter) || filter.some((event) => !WEBHOOK_EVENTS.has(String(event))))) {
      problems.push({ field: "webhook_events_filter", description: "Invalid webhook event" });
    }
    const modelName = model ?? String(fields.version);
    for (const required of this.requiredInputs[modelName] ?? []) {
      if ((input as Record<string, unknown> | null)?.[required] === undefined) {
        problems.push({ field: "input", description: `${required} is required` });
      }
    }
    if (problems.length > 0) return validationFailed(res, problems);

    this.creations += 1;
    const outcome = this.scripted.shift() ?? { status: "succeeded" };
    const prediction = this.createPrediction(modelName, fields, outcome);
    if (cancelAfterSeconds !== undefined) {
      prediction.cancelAfterSeconds = cancelAfterSeconds;
      prediction.deadlineTimer = setTimeout(() => this.passDeadline(prediction), cancelAfterSeconds * 1000);
    }
    if (this.resetAfterCreate > 0) {
      this.resetAfterCreate -= 1;
      res.socket?.destroy();
      return;
    }
    sendJson(res, 201, prediction.json);
  }

  private createPrediction(model: string, fields: Record<string, unknown>, outcome: ScriptedOutcome): FakePrediction {
    const id = randomBytes(13).toString("hex").slice(0, 26);
    const json = {
      id,
      model,
      version: "fake0000000000000000000000000000000000000000000000000000000000",
      input: fields.input ?? {},
      output: null,
      error: null,
      logs: "",
      status: "starting" as FakeStatus,
      source: "api",
      data_removed: false,
      created_at: new Date().toISOString(),
      started_at: null,
      completed_at: null,
      metrics: {},
      urls: {
        get: `${this.baseUrl}/predictions/${id}`,
        cancel: `${this.baseUrl}/predictions/${id}/cancel`,
        web: `https://replicate.com/p/${id}`,
      },
      ...(typeof fields.webhook === "string" && { webhook: fields.webhook }),
      ...(Array.isArray(fields.webhook_events_filter) && { webhook_events_filter: fields.webhook_events_filter }),
    };
    const prediction: FakePrediction = { json, outcome, polls: 0, timer: undefined, files: [], cancelAfterSeconds: undefined, deadlineTimer: undefined };
    this.predictions.set(id, prediction);
    this.sendWebhook(prediction, "start");
    if ("ms" in this.completeAfter) {
      prediction.timer = setTimeout(() => this.complete(prediction), this.completeAfter.ms);
    }
    return prediction;
  }

  /** The Cancel-After seconds a created prediction was sent with (undefined: none). */
  cancelAfterOf(id: string): number | undefined {
    return this.predictions.get(id)?.cancelAfterSeconds;
  }

  /** Its Cancel-After passed: aborted if it never started, canceled if it was running. */
  private passDeadline(prediction: FakePrediction): void {
    if (isTerminal(prediction.json.status)) return;
    const status = prediction.json.status === "starting" ? "aborted" : "canceled";
    this.deadlineEnds.push({ id: prediction.json.id, status });
    this.complete(prediction, status);
  }

  /** One GET's worth of progress. */
  private advance(prediction: FakePrediction): void {
    if (isTerminal(prediction.json.status)) return;
    prediction.polls += 1;
    if ("polls" in this.completeAfter && prediction.polls >= this.completeAfter.polls) this.complete(prediction);
    else this.markProcessing(prediction);
  }

  private markProcessing(prediction: FakePrediction): void {
    prediction.json.status = "processing";
    prediction.json.started_at ??= new Date().toISOString();
    prediction.json.logs = "Running model\n 50%|#####     | 1/2 [00:01<00:01]\n";
  }

  private complete(prediction: FakePrediction, forced?: Terminal): void {
    if (isTerminal(prediction.json.status)) return;
    clearTimeout(prediction.timer);
    clearTimeout(prediction.deadlineTimer);
    const outcome: ScriptedOutcome = forced && forced !== prediction.outcome.status ? terminalOutcome(forced) : prediction.outcome;
    const json = prediction.json;
    json.status = outcome.status;
    json.started_at ??= new Date().toISOString();
    json.completed_at = new Date().toISOString();
    json.metrics = { predict_time: this.predictTimeSeconds, total_time: this.predictTimeSeconds + 0.1 };
    if (outcome.status === "succeeded") {
      prediction.files = outcome.files ?? [this.modelOutputs[String(json.model)] ?? this.output];
      const urls = prediction.files.map((file) => `${this.origin}/delivery/${json.id}/${file.filename}`);
      json.output = urls.length === 1 && !outcome.asArray && !this.listOutputs.has(String(json.model)) ? urls[0] : urls;
      json.logs = "Running model\n100%|##########| 2/2 [00:02<00:00]\n";
    } else if (outcome.status === "failed") {
      json.error = outcome.error;
    }
    this.sendWebhook(prediction, "completed");
  }

  private sendWebhook(prediction: FakePrediction, event: "start" | "completed"): void {
    const url = prediction.json.webhook;
    if (typeof url !== "string" || this.dropWebhooks) return;
    const filter = prediction.json.webhook_events_filter;
    if (Array.isArray(filter) && !filter.includes(event)) return;
    const body = JSON.stringify(prediction.json);
    const webhookId = `msg_${randomBytes(12).toString("hex")}`;
    const send = async () => {
      if (this.webhookDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.webhookDelayMs));
      const timestamp = Math.floor(Date.now() / 1000);
      const record: WebhookDelivery = { url, event, webhookId, timestamp, body, status: "error" };
      this.webhookDeliveries.push(record);
      try {
        const response = await fetch(url, {
          method: "POST",
          redirect: "manual", // Replicate does not follow redirects
          headers: {
            "content-type": "application/json",
            "webhook-id": webhookId,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": signWebhook(this.webhookSecret, webhookId, timestamp, body),
          },
          body,
          signal: AbortSignal.timeout(5000),
        });
        record.status = response.status;
        await response.arrayBuffer();
      } catch {
        record.status = "error";
      }
    };
    const task = send();
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  private serveFile(res: http.ServerResponse, id: string, filename: string): void {
    const file = this.predictions.get(id)?.files.find((candidate) => candidate.filename === filename);
    if (!file) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found");
      return;
    }
    res.writeHead(200, { "content-type": file.contentType, "content-length": file.body.length }).end(file.body);
  }

  private takeFailure(route: FakeRoute | "unknown"): InjectedFailure | undefined {
    const index = this.failures.findIndex((failure) => failure.route === "*" || failure.route === route);
    if (index < 0) return undefined;
    const failure = this.failures[index]!;
    if (failure.times !== undefined) {
      failure.times -= 1;
      if (failure.times <= 0) this.failures.splice(index, 1);
    }
    return failure;
  }

  private sendFailure(res: http.ServerResponse, failure: InjectedFailure): void {
    const headers: Record<string, string> = failure.retryAfter ? { "retry-after": failure.retryAfter } : {};
    switch (failure.status) {
      case 401:
        return sendJson(res, 401, {
          title: "Unauthenticated",
          detail: failure.detail ?? "You did not pass a valid authentication token",
          status: 401,
        }, headers);
      case 402:
        return sendJson(res, 402, {
          title: "Insufficient credit",
          detail:
            failure.detail ??
            "You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit. Once you purchase credit, please wait a few minutes before you try again.",
          status: 402,
        }, headers);
      case 429:
        return sendJson(res, 429, {
          detail: failure.detail ?? `Request was throttled. Your rate limit resets in ~${failure.resetSeconds ?? 30}s.`,
          status: 429,
        }, headers);
      case 422:
        return sendJson(res, 422, {
          title: "Input validation failed",
          detail: failure.detail ?? "- input: prompt is required\n",
          status: 422,
          invalid_fields: [{ type: "required", field: "input", description: "prompt is required" }],
        }, headers);
      default:
        if (failure.status >= 500 && failure.status !== 500) {
          // What a load balancer in front of the API answers: not JSON.
          res.writeHead(failure.status, { "content-type": "text/html", ...headers }).end("<html><body>Service Unavailable</body></html>");
          return;
        }
        return sendJson(res, failure.status, { detail: failure.detail ?? "Internal server error", status: failure.status }, headers);
    }
  }
}

type Route =
  | { name: "create"; model: string | undefined }
  | { name: "get" | "cancel"; id: string }
  | { name: "account" | "webhook_secret" | "unknown" };

function routeOf(method: string, path: string): Route {
  const modelCreate = /^\/v1\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(path);
  if (method === "POST" && modelCreate) return { name: "create", model: `${modelCreate[1]}/${modelCreate[2]}` };
  if (method === "POST" && path === "/v1/predictions") return { name: "create", model: undefined };
  const cancel = /^\/v1\/predictions\/([^/]+)\/cancel$/.exec(path);
  if (method === "POST" && cancel) return { name: "cancel", id: cancel[1] ?? "" };
  const get = /^\/v1\/predictions\/([^/]+)$/.exec(path);
  if (method === "GET" && get) return { name: "get", id: get[1] ?? "" };
  if (method === "GET" && path === "/v1/account") return { name: "account" };
  if (method === "GET" && path === "/v1/webhooks/default/secret") return { name: "webhook_secret" };
  return { name: "unknown" };
}

/** "30", "30s", "5m", "1h30m" → seconds; undefined when malformed. */
export function parseCancelAfter(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^(\d+h)?(\d+m)?(\d+s)?$/.test(text) || text === "") return undefined;
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([hms])/g)) seconds += Number(amount) * (unit === "h" ? 3600 : unit === "m" ? 60 : 1);
  return seconds;
}

function terminalOutcome(status: Terminal): ScriptedOutcome {
  if (status === "failed") return { status, error: "Prediction failed" };
  return { status };
}

function isTerminal(status: FakeStatus): status is Terminal {
  return status === "succeeded" || status === "failed" || status === "canceled" || status === "aborted";
}

function isUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

function validationFailed(res: http.ServerResponse, problems: Array<{ field: string; description: string }>): void {
  sendJson(res, 422, {
    title: "Input validation failed",
    detail: problems.map((problem) => `- ${problem.field}: ${problem.description}\n`).join(""),
    status: 422,
    invalid_fields: problems.map((problem) => ({ type: "invalid", ...problem })),
  });
}

function notFound(res: http.ServerResponse): void {
  sendJson(res, 404, { title: "Not found", detail: "Not found.", status: 404 });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers }).end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
