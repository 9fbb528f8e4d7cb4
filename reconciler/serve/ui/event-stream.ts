// GET /events: Server-Sent Events to the open pages. Publishing never waits for a client: each event
// is written to every connected response and forgotten; a client whose unsent data passes
// SLOW_CLIENT_BYTES (it stopped reading) is dropped, and at most MAX_CLIENTS are connected at once, so
// a run is never slowed by the pages watching it. Events close to each other go out in one write.
import type http from "node:http";

export const MAX_CLIENTS = 64;
export const SLOW_CLIENT_BYTES = 256 * 1024;
const FLUSH_MS = 50;
const KEEPALIVE_MS = 20_000;

export type PageEvent =
  | { type: "run.started"; data: { id: number; reasons: readonly string[]; startedAt: string } }
  | {
      type: "run.planned";
      data: { id: number; changes: { action: string; subject: string; service: string }[] };
    }
  | {
      type: "change.result";
      data: { id: number; subject: string; action: string; status: string; reason?: string };
    }
  | { type: "run.finished"; data: { id: number; result: string; durationSeconds: number; error?: string } };

export class EventStream {
  private readonly clients = new Set<http.ServerResponse>();
  private pending = "";
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly keepalive: NodeJS.Timeout;
  /** Clients dropped for reading too slowly (tests and the log). */
  dropped = 0;

  constructor(private readonly maxClients = MAX_CLIENTS) {
    // A comment line now and then keeps proxies from closing an idle stream.
    this.keepalive = setInterval(() => this.write(": keepalive\n\n"), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** False when MAX_CLIENTS are connected already (the caller answers 503). */
  get full(): boolean {
    return this.clients.size >= this.maxClients;
  }

  /** Takes over a response whose SSE headers were written. */
  attach(res: http.ServerResponse): void {
    this.clients.add(res);
    res.write("retry: 3000\n\n");
    res.on("close", () => this.clients.delete(res));
  }

  publish(event: PageEvent): void {
    if (this.clients.size === 0) return;
    this.pending += `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const chunk = this.pending;
      this.pending = "";
      this.write(chunk);
    }, FLUSH_MS);
  }

  /** Ends every stream (serve is stopping): open streams would otherwise keep the server from closing. */
  close(): void {
    clearInterval(this.keepalive);
    clearTimeout(this.flushTimer);
    for (const res of this.clients) res.destroy();
    this.clients.clear();
  }

  private write(text: string): void {
    const chunk = Buffer.from(text, "utf8"); // encoded once for every open page
    for (const res of this.clients) {
      if (res.writableLength > SLOW_CLIENT_BYTES) {
        this.dropped += 1;
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}
