// A thin HTTPS client for the Kubernetes API: keep-alive connections bounded to `maxSockets`, a timeout
// on every request, and transient failures (connection reset, 429 with its Retry-After, 5xx) retried
// with jittered backoff; permanent ones (other 4xx) are not. A request that timed out is not sent again
// (the bound is on the whole wait: retries made a silent API server cost six times --request-timeout),
// and nothing is retried once the client is closed. Counts requests by verb (benchmarks).
import { collectText, type TextResponse } from "../../http-body.js";
import https from "node:https";
import { RuntimeFailureError, reasonOf } from "../../errors.js";
import { pause } from "../lock-wait.js";
import type { Connection } from "./endpoint.js";

/** A Kubernetes `Status` error body's useful parts. */
export interface KubeStatus {
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string; field?: string }[] };
}

export class KubernetesRequestError extends RuntimeFailureError {
  constructor(
    readonly status: number,
    readonly kubeReason: string,
    readonly detail: string,
    readonly causes: NonNullable<NonNullable<KubeStatus["details"]>["causes"]>,
    message: string,
    options: { cause?: unknown; transient: boolean },
  ) {
    super(message, options);
  }
}

export interface ClientTuning {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** Longest Retry-After honoured; a longer one is capped (the request is still retried). */
  maxRetryAfterMs: number;
  maxSockets: number;
}

export const DEFAULT_CLIENT_TUNING: ClientTuning = {
  timeoutMs: 30_000,
  retries: 5,
  backoffMs: 200,
  maxRetryAfterMs: 30_000,
  maxSockets: 16,
};

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  /** Statuses returned to the caller instead of thrown (e.g. 404 on a GET, 409 on a create). */
  accept?: readonly number[];
  signal?: AbortSignal;
  /** The label this request is counted under (default its verb; lists count as "LIST"). */
  countAs?: string;
  /** The Accept header (default application/json); discovery asks for the aggregated form first. */
  acceptHeader?: string;
}

export interface KubeResponse<T> {
  status: number;
  body: T;
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

export class KubernetesClient {
  private readonly agent: https.Agent;
  private readonly tuning: ClientTuning;
  /** Requests sent, retries included, by HTTP verb (and "list" for collection GETs). */
  readonly counts: Record<string, number> = {};
  /** The same requests by verb and resource (`list deployments`, `GET discovery`): O(kinds) or not. */
  readonly countsByResource: Record<string, number> = {};
  requests = 0;
  /** Set by close(): requests failing after it (their sockets were destroyed) are not retried. */
  private closed = false;

  constructor(
    readonly connection: Connection,
    tuning: Partial<ClientTuning> = {},
  ) {
    this.tuning = { ...DEFAULT_CLIENT_TUNING, ...tuning };
    this.agent = new https.Agent({ keepAlive: true, maxSockets: this.tuning.maxSockets, ...connection.tls });
  }

  get server(): string {
    return this.connection.server.origin;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    const what = `kubernetes ${method} ${path}`;
    for (let attempt = 0; ; attempt += 1) {
      let retryAfterMs: number | undefined;
      try {
        const res = await this.once(method, path, options);
        if (res.status < 300 || options.accept?.includes(res.status)) {
          return { status: res.status, body: parseBody(res.body, res.status < 300) as T };
        }
        const error = statusError(what, res.status, res.body);
        if (!error.transient || attempt >= this.tuning.retries || this.closed) throw error;
        retryAfterMs = parseRetryAfter(res.retryAfter);
      } catch (error) {
        if (error instanceof KubernetesRequestError) {
          if (!error.transient || attempt >= this.tuning.retries || this.closed) throw error;
        } else {
          const code = (error as NodeJS.ErrnoException).code ?? "";
          const transient = TRANSIENT_CODES.has(code) && !this.closed;
          const reason =
            error instanceof TimeoutError
              ? `no answer from the Kubernetes API at ${this.server} within ${this.tuning.timeoutMs / 1000} s; ` +
                `if it is only slow, raise --request-timeout SECONDS (SYSCONFIG_REQUEST_TIMEOUT)`
              : `${reasonOf(error)} (${this.server})`;
          if (!transient || attempt >= this.tuning.retries || options.signal?.aborted === true) {
            throw new KubernetesRequestError(0, code, reason, [], `${what} failed: ${reason}`, {
              cause: error,
              transient,
            });
          }
        }
      }
      const backoff = this.tuning.backoffMs * 2 ** attempt * (0.5 + Math.random());
      await pause(Math.min(retryAfterMs ?? backoff, this.tuning.maxRetryAfterMs), options.signal);
    }
  }

  private async once(method: string, path: string, options: RequestOptions): Promise<TextResponse> {
    const url = new URL(path, this.connection.server);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = {
      Accept: options.acceptHeader ?? "application/json",
      ...(await this.connection.headers()),
    };
    if (payload) {
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    this.requests += 1;
    const verb = options.countAs ?? method;
    this.counts[verb] = (this.counts[verb] ?? 0) + 1;
    const byResource = `${verb} ${resourceOfPath(url.pathname)}`;
    this.countsByResource[byResource] = (this.countsByResource[byResource] ?? 0) + 1;
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { method, headers, agent: this.agent, timeout: this.tuning.timeoutMs },
        (res) => collectText(res, resolve, reject),
      );
      req.on("timeout", () => req.destroy(new TimeoutError(`no answer within ${this.tuning.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

/**
 * The resource a request path names (`/apis/apps/v1/namespaces/x/deployments/web` → `deployments`,
 * `/apis/apps/v1` → `discovery`); a subresource keeps its parent (`deployments/status`).
 */
export function resourceOfPath(pathname: string): string {
  const parts = pathname.split("/").filter((p) => p !== "");
  // /api/v1/… or /apis/GROUP/VERSION/…: what follows is [namespaces/NS/]RESOURCE[/NAME[/SUB]].
  let rest = parts[0] === "api" ? parts.slice(2) : parts[0] === "apis" ? parts.slice(3) : [];
  if (rest.length === 0) return "discovery";
  if (rest[0] === "namespaces" && rest.length > 2) rest = rest.slice(2);
  return rest.length > 2 ? `${rest[0]}/${rest[2]}` : (rest[0] ?? "discovery");
}

/** No answer within the request timeout: not transient, never sent again. */
class TimeoutError extends Error {}

/** JSON of a 2xx answer; an accepted error status may come as plain text (a 404 of an unserved group). */
function parseBody(text: string, strict: boolean): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    if (strict) throw error;
    return undefined;
  }
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function statusError(what: string, status: number, body: string): KubernetesRequestError {
  let parsed: KubeStatus = {};
  try {
    parsed = JSON.parse(body) as KubeStatus;
  } catch {
    parsed = { message: body.slice(0, 300) };
  }
  const detail = parsed.message ?? `HTTP ${status}`;
  const hint =
    status === 401
      ? " (the credentials were refused: check the token or client certificate)"
      : status === 403
        ? " (RBAC: these credentials lack this permission; `sysconfig rbac` prints the Role this config needs)"
        : "";
  return new KubernetesRequestError(
    status,
    parsed.reason ?? "",
    detail,
    parsed.details?.causes ?? [],
    `${what} failed: HTTP ${status}: ${detail}${hint}`,
    { transient: status === 429 || status >= 500 },
  );
}
