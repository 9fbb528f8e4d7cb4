// fleet HTTP API v1 client: unix socket, TCP or any stream (SSH tunnel); every list is paged through
// nextPageToken; timeouts on every request; transient failures (connection reset, timeout, 429, 5xx)
// retried with jittered backoff, permanent ones (other 4xx) not. A request that timed out is never sent
// again, and once the client is closed (the run failed or ended) nothing is retried: the requests still in
// flight beside a failed one (the two list walks) died with their sockets, and retrying them made a silent
// fleetd cost twice --request-timeout.
import type { Agent as HttpAgent, RequestOptions } from "node:http";
import { http } from "../../node-http.js";
import { collectText, type TextResponse } from "../../http-body.js";
import type { Duplex } from "node:stream";
import { RuntimeFailureError, SysconfigError, reasonOf } from "../../errors.js";
import type { FleetEndpoint } from "./endpoint.js";
import { normalizeOptions, type UnitOption } from "./unit-file.js";

export const DESIRED_STATES = ["inactive", "loaded", "launched"] as const;
export type DesiredUnitState = (typeof DESIRED_STATES)[number];

export interface FleetUnit {
  name: string;
  options: UnitOption[];
  desiredState: string;
  currentState: string;
  machineID: string;
}

export interface FleetUnitState {
  name: string;
  hash: string;
  machineID: string;
  systemdLoadState: string;
  systemdActiveState: string;
  systemdSubState: string;
}

export interface FleetMachine {
  id: string;
  primaryIP: string;
  metadata: Record<string, string>;
}

/** Opens a byte stream to fleetd (used for SSH tunnels). */
export type StreamConnector = () => Promise<Duplex>;

export interface FleetClientOptions {
  endpoint: FleetEndpoint;
  /** When set, every connection is opened through it instead of a socket (the SSH tunnel). */
  connect?: StreamConnector;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  /** Concurrent connections to fleetd. */
  maxSockets?: number;
}

/** A failed fleet API request; `status` is 0 when no HTTP response came back. */
export class FleetRequestError extends RuntimeFailureError {
  constructor(
    readonly status: number,
    /** fleet's own error message (or the network error) without the request prefix. */
    readonly reason: string,
    message: string,
    options: { cause?: unknown; transient: boolean },
  ) {
    super(message, options);
  }
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EAI_AGAIN",
]);

function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** No answer (or a stall) for the whole request timeout. */
class RequestTimeoutError extends Error {
  constructor(url: string, timeoutMs: number) {
    super(
      `no answer from fleet at ${url} within ${timeoutMs / 1000} s; if it is only slow, raise ` +
        `--request-timeout SECONDS (SYSCONFIG_REQUEST_TIMEOUT)`,
    );
    this.name = "RequestTimeoutError";
  }
}

type RawResponse = TextResponse;

export class FleetClient {
  private readonly agent: HttpAgent;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  /** Requests issued, retries included (the benchmarks print it). */
  requests = 0;
  /** Aborted by close(): ends backoff pauses, and no request is retried after it. */
  private readonly closing = new AbortController();

  constructor(private readonly options: FleetClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 250;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
    const connect = options.connect;
    if (connect) {
      // http.Agent accepts an asynchronous createConnection through its callback.
      const agent = this.agent as unknown as {
        createConnection: (opts: unknown, cb: (err: Error | null, stream?: Duplex) => void) => undefined;
      };
      agent.createConnection = (_opts, cb) => {
        connect().then(
          (stream) => cb(null, socketLike(stream)),
          (error: unknown) => cb(error instanceof Error ? error : new Error(String(error))),
        );
        return undefined;
      };
    }
  }

  get endpoint(): FleetEndpoint {
    return this.options.endpoint;
  }

  async listUnits(): Promise<FleetUnit[]> {
    const raw = await this.listAll("units", "units");
    return raw.map(toUnit);
  }

  async getUnit(name: string): Promise<FleetUnit | undefined> {
    const res = await this.request("GET", `/fleet/v1/units/${encodeURIComponent(name)}`, undefined, [404]);
    if (res.status === 404) return undefined;
    return toUnit(parseJson(res.body, `GET units/${name}`));
  }

  /**
   * PUT a unit. Always sends desiredState (fleetd resets a replaced unit to inactive without it) and
   * refuses anything but inactive|loaded|launched (fleetd stores any string and corrupts the unit).
   * Returns 201 (created or replaced) or 204 (desiredState changed).
   */
  async setUnit(name: string, body: { desiredState: string; options?: UnitOption[] }): Promise<number> {
    if (!(DESIRED_STATES as readonly string[]).includes(body.desiredState)) {
      throw new FleetRequestError(
        0,
        `invalid desiredState '${body.desiredState}' (expected ${DESIRED_STATES.join("|")}); nothing was sent`,
        `fleet PUT units/${name} failed: invalid desiredState '${body.desiredState}' (expected ${DESIRED_STATES.join("|")}); nothing was sent`,
        { transient: false },
      );
    }
    const payload: Record<string, unknown> = { desiredState: body.desiredState };
    if (body.options) payload.options = body.options;
    const res = await this.request("PUT", `/fleet/v1/units/${encodeURIComponent(name)}`, payload);
    return res.status;
  }

  /** DELETE a unit; false when it did not exist (404). */
  async destroyUnit(name: string): Promise<boolean> {
    const res = await this.request("DELETE", `/fleet/v1/units/${encodeURIComponent(name)}`, undefined, [404]);
    return res.status !== 404;
  }

  async listStates(filter: { unitName?: string; machineID?: string } = {}): Promise<FleetUnitState[]> {
    const query = new URLSearchParams();
    if (filter.unitName !== undefined) query.set("unitName", filter.unitName);
    if (filter.machineID !== undefined) query.set("machineID", filter.machineID);
    const raw = await this.listAll("state", "states", query);
    return raw.map(toState);
  }

  async listMachines(): Promise<FleetMachine[]> {
    const raw = await this.listAll("machines", "machines");
    return raw.map((m) => {
      const r = (m ?? {}) as Record<string, unknown>;
      return {
        id: str(r.id),
        primaryIP: str(r.primaryIP),
        metadata: (r.metadata ?? {}) as Record<string, string>,
      };
    });
  }

  /** Ends every connection; requests in flight fail without retries, and no new one starts. */
  close(): void {
    this.closed = true;
    this.closing.abort();
    this.agent.destroy();
  }
  private closed = false;

  /** Follows nextPageToken to the end; an empty collection comes back as `{}`. */
  private async listAll(resource: string, key: string, query = new URLSearchParams()): Promise<unknown[]> {
    const items: unknown[] = [];
    let token: string | undefined;
    for (let page = 0; ; page++) {
      const q = new URLSearchParams(query);
      if (token !== undefined) q.set("nextPageToken", token);
      const qs = q.toString();
      const res = await this.request("GET", `/fleet/v1/${resource}${qs ? `?${qs}` : ""}`);
      const body = parseJson(res.body, `GET ${resource}`) as Record<string, unknown>;
      const list = body[key];
      if (Array.isArray(list)) items.push(...(list as unknown[]));
      const next = body.nextPageToken;
      if (typeof next !== "string" || next === "") return items;
      if (page > 100_000) throw new RuntimeFailureError(`fleet GET ${resource} failed: paging never ends`);
      token = next;
    }
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    accept: number[] = [],
  ): Promise<RawResponse> {
    const label = `fleet ${method} ${path.replace(/^\/fleet\/v1\//, "")}`;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw closedError(label);
      let res: RawResponse;
      try {
        res = await this.once(method, path, body);
      } catch (error) {
        if (this.closed) throw closedError(label, error);
        if (error instanceof SysconfigError) {
          // From the SSH tunnel: already names the hop and the operation.
          if (error instanceof RuntimeFailureError && error.transient && this.mayRetry(attempt)) {
            await this.pause(this.delay(attempt));
            continue;
          }
          throw error;
        }
        if (error instanceof RequestTimeoutError) {
          // Not retried: the bound is on the whole wait (five attempts made a silent fleetd cost 154 s).
          throw new FleetRequestError(0, error.message, `${label} failed: ${error.message}`, {
            cause: error,
            transient: false,
          });
        }
        const code = (error as NodeJS.ErrnoException).code ?? "";
        const transient = TRANSIENT_CODES.has(code) || /socket hang up|timed out/.test(reasonOf(error));
        if (transient && this.mayRetry(attempt)) {
          await this.pause(this.delay(attempt));
          continue;
        }
        throw new FleetRequestError(
          0,
          reasonOf(error),
          `${label} failed: ${reasonOf(error)} (${this.endpoint.url})`,
          {
            cause: error,
            transient,
          },
        );
      }
      if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
      const reason = errorMessage(res);
      const transient = isTransientStatus(res.status);
      if (transient && this.mayRetry(attempt)) {
        await this.pause(this.delay(attempt, res.retryAfter));
        continue;
      }
      const retried = attempt > 0 ? ` (after ${attempt + 1} attempts)` : "";
      throw new FleetRequestError(res.status, reason, `${label} failed: ${reason}${retried}`, { transient });
    }
  }

  private mayRetry(attempt: number): boolean {
    return attempt < this.retries && !this.closing.signal.aborted;
  }

  /** A backoff pause that close() ends at once; a request started after close() fails on the destroyed agent. */
  private async pause(ms: number): Promise<void> {
    const signal = this.closing.signal;
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done);
    });
    if (signal.aborted) {
      throw new FleetRequestError(0, "the client was closed", "fleet request abandoned: the run ended", {
        transient: false,
      });
    }
  }

  private delay(attempt: number, retryAfter?: string): number {
    const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 30_000);
    const base = this.backoffMs * 2 ** attempt;
    return base / 2 + Math.random() * base;
  }

  private once(method: string, path: string, body?: unknown): Promise<RawResponse> {
    this.requests++;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const endpoint = this.options.endpoint;
    const target: RequestOptions =
      this.options.connect !== undefined
        ? { host: endpoint.kind === "http" ? endpoint.host : "fleet" }
        : endpoint.kind === "unix"
          ? { socketPath: endpoint.socketPath }
          : { host: endpoint.host, port: endpoint.port };
    return new Promise<RawResponse>((resolve, reject) => {
      const req = http.request(
        {
          ...target,
          agent: this.agent,
          method,
          path,
          headers: {
            accept: "application/json",
            ...(payload !== undefined
              ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => collectText(res, resolve, reject),
      );
      // Idle time on the connection: connect, first byte and any stall after it are each bounded by timeoutMs.
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(new RequestTimeoutError(endpoint.url, this.timeoutMs));
      });
      req.on("error", reject);
      req.end(payload);
    });
  }
}

/**
 * http.Agent treats what createConnection returns as a net.Socket: give an SSH channel the few socket
 * methods it calls. The timeout is armed by setTimeout(ms) and fires once, which is what the request
 * timeout needs.
 */
function socketLike(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  let timer: NodeJS.Timeout | undefined;
  s.setTimeout = (ms: number, callback?: () => void) => {
    clearTimeout(timer);
    // As net.Socket does: setTimeout(0, cb) removes cb. http calls it so when a kept-alive request ends;
    // adding it again instead left one listener per request on the shared channel (MaxListenersExceededWarning).
    if (callback && ms === 0) s.removeListener("timeout", callback);
    else if (callback) s.once("timeout", callback);
    if (ms > 0) {
      timer = setTimeout(() => s.emit("timeout"), ms);
      timer.unref();
    }
    return s;
  };
  s.setNoDelay = () => s;
  s.setKeepAlive = () => s;
  s.ref = () => s;
  s.unref = () => s;
  stream.once("close", () => clearTimeout(timer));
  return stream;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function parseJson(text: string, what: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RuntimeFailureError(`fleet ${what} failed: response is not JSON: ${text.slice(0, 200)}`, {
      cause: error,
    });
  }
}

/** fleet's error entity `{"error":{"code","message"}}`, else the status line. */
function errorMessage(res: RawResponse): string {
  try {
    const body = JSON.parse(res.body) as { error?: { code?: number; message?: string } };
    const message = body.error?.message;
    if (typeof message === "string" && message !== "") return `${message} (HTTP ${res.status})`;
  } catch {
    // not JSON: fall through to the status
  }
  return `HTTP ${res.status} ${http.STATUS_CODES[res.status] ?? ""}`.trim();
}

function toUnit(raw: unknown): FleetUnit {
  const r = (raw ?? {}) as Record<string, unknown>;
  return {
    name: str(r.name),
    options: normalizeOptions(r.options),
    desiredState: str(r.desiredState),
    currentState: str(r.currentState),
    machineID: str(r.machineID),
  };
}

function toState(raw: unknown): FleetUnitState {
  const r = (raw ?? {}) as Record<string, unknown>;
  return {
    name: str(r.name),
    hash: str(r.hash),
    machineID: str(r.machineID),
    systemdLoadState: str(r.systemdLoadState),
    systemdActiveState: str(r.systemdActiveState),
    systemdSubState: str(r.systemdSubState),
  };
}

/** A request of a closed client (a read abandoned because the run stopped before it needed it). */
function closedError(label: string, cause?: unknown): FleetRequestError {
  return new FleetRequestError(0, "the client was closed", `${label} failed: the client was closed`, {
    ...(cause === undefined ? {} : { cause }),
    transient: false,
  });
}
