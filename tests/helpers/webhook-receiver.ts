import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  body: Record<string, unknown> & { type: string; data: Record<string, unknown> & { event_id: number } };
  /** Whether the standardwebhooks library accepted the signature with the secret the test gave. */
  verified: boolean;
  answered: "drop" | number;
}

/**
 * A local webhook receiver that checks every delivery with the standardwebhooks library (an
 * independent implementation of the signature) and answers as scripted: each entry of `script` is
 * used once, in order ("drop" cuts the connection without an answer), then 200.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  script: ("drop" | number)[] = [];
  secret = "";
  private server: http.Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const headers = {
          "webhook-id": String(request.headers["webhook-id"]),
          "webhook-timestamp": String(request.headers["webhook-timestamp"]),
          "webhook-signature": String(request.headers["webhook-signature"]),
        };
        let verified: boolean;
        try {
          new Webhook(this.secret).verify(raw, headers);
          verified = true;
        } catch {
          verified = false;
        }
        const answer = this.script.shift() ?? 200;
        this.received.push({ id: headers["webhook-id"], timestamp: headers["webhook-timestamp"], body: JSON.parse(raw) as ReceivedWebhook["body"], verified, answered: answer });
        if (answer === "drop") {
          request.socket.destroy();
          return;
        }
        response.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(host = "127.0.0.1", scheme = "http"): string {
    return `${scheme}://${host}:${this.port}/hooks/montage`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The ids in the order they first arrived. */
  firstArrivals(): string[] {
    return [...new Set(this.received.map((delivery) => delivery.id))];
  }
}
