// Posts chat messages to a Slack-compatible incoming webhook. Fire and forget: send() returns at once,
// the post has a timeout, and a failure is only logged, so a slow or broken chat never delays or fails
// a run. The URL is a secret (it holds the hook's token): it is never logged, only its host. Credentials in
// the URL (https://user:pass@host/…, which fetch refuses to send) go as an Authorization: Basic header, as
// curl sends them.
import { reasonOf } from "../errors.js";
import type { EventLog } from "./event-log.js";
import type { ChatMessage } from "./notification.js";

export const NOTIFY_TIMEOUT_MS = 5000;

export interface Notifier {
  /** Starts the post and returns at once. */
  send(message: ChatMessage, run: number): void;
  /** Waits up to `ms` for posts in flight, then aborts the rest. */
  close(ms: number): Promise<void>;
}

export function createNotifier(url: URL, log: EventLog, timeoutMs = NOTIFY_TIMEOUT_MS): Notifier {
  const inFlight = new Set<Promise<void>>();
  const closing = new AbortController();
  const { target, authorization } = withoutUserinfo(url);
  const host = target.host;
  const post = async (message: ChatMessage, run: number): Promise<void> => {
    const started = Date.now();
    try {
      const response = await fetch(target, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: JSON.stringify(message),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
      });
      await response.body?.cancel();
      if (!response.ok) {
        log.emit("warn", "notify.failed", {
          run,
          host,
          status: response.status,
          reason: `HTTP ${response.status}`,
        });
        return;
      }
      log.emit("info", "notify.sent", { run, host, ms: Date.now() - started });
    } catch (error) {
      const reason =
        error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")
          ? `no answer within ${timeoutMs} ms`
          : causeOf(error);
      log.emit("warn", "notify.failed", { run, host, reason });
    }
  };
  return {
    send(message, run) {
      const p = post(message, run).finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    async close(ms) {
      if (inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...inFlight]),
          new Promise((resolve) => (timer = setTimeout(resolve, ms))),
        ]);
        clearTimeout(timer);
      }
      closing.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** The URL without user:password, and those as a Basic Authorization header value (undefined when none). */
export function withoutUserinfo(url: URL): { target: URL; authorization?: string } {
  if (url.username === "" && url.password === "") return { target: url };
  const target = new URL(url.href);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  target.username = "";
  target.password = "";
  return { target, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}

/** fetch's "fetch failed" with the reason underneath (ECONNREFUSED, …). */
function causeOf(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? reasonOf(error) : `${reasonOf(error)}: ${reasonOf(cause)}`;
}
