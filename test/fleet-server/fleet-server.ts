// An in-process fake of fleetd v1.0.0's HTTP API v1 for tests and benchmarks — the documented wire
// behaviour and nothing more: /fleet/v1/units (list/get/put/delete), /fleet/v1/state, /fleet/v1/machines,
// paging by nextPageToken, the Content-Type rule, replace semantics, `{}` empties, error entities.
// Two clocks: immediate (units move inactive → loaded → launched after `transitionMs` each, 0 = at
// once; for fast unit tests), or `realistic` — fleetd's own timing (scheduling.ts): a unit gets a
// machine only on the engine's pass every 2 s, is started and reported by the agent on its own pass,
// and every request costs what it costs a real fleetd at that many units. In both, a unit whose
// [X-Fleet] MachineMetadata=/Conflicts= no machine satisfies never gets a machine nor a /state entry.
// Failures, delays and dropped connections can be injected. Product code never imports this.
import { rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  decodePageToken,
  encodePageToken,
  isTemplateName,
  sendError,
  sendJson,
  unitHash,
  validateName,
  type WireOption,
} from "./wire.js";
import { nextPass, pickMachine, REALISTIC_TIMING, type FleetTiming } from "./scheduling.js";

export interface FakeUnit {
  name: string;
  options: WireOption[];
  /** Stored as sent: fleetd does not validate desiredState on update. */
  desiredState: string;
  machineID: string;
  /** When the desired state or the unit file last changed (drives the lazy state machine). */
  since: number;
  /** The unit file the machine ran before a replace, until the agent picks up the new one. */
  previousHash?: string;
  previousMachineID?: string;
  /** unitHash(options), computed once when the unit file is stored. */
  hash?: string;
}

export interface FakeMachine {
  id: string;
  primaryIP: string;
  metadata: Record<string, string>;
}

export interface FleetServerOptions {
  /** Milliseconds per step inactive → loaded → launched (0: immediate). */
  transitionMs?: number;
  /** fleetd's --token-limit (page size), default 100. */
  pageSize?: number;
  machines?: number;
  /** fleetd's timing and request costs instead of the immediate clock; fields override REALISTIC_TIMING. */
  realistic?: Partial<FleetTiming>;
}

export interface RequestCounts {
  total: number;
  byRoute: Record<string, number>;
}

type Fault = { kind: "status"; status: number } | { kind: "drop" } | { kind: "slow"; ms: number };

export class FakeFleetServer {
  readonly units = new Map<string, FakeUnit>();
  readonly machines: FakeMachine[];
  transitionMs: number;
  readonly pageSize: number;
  /** Added to every request before it is handled. */
  delayMs = 0;
  counts: RequestCounts = { total: 0, byRoute: {} };
  /** Every request as "METHOD path?query", in order. */
  log: string[] = [];
  private readonly faults: Fault[] = [];
  private readonly failing: (string | RegExp)[] = [];
  private readonly server: http.Server;
  private socketPath: string | undefined;
  endpoint = "";
  /** Set in realistic mode. */
  readonly timing: FleetTiming | undefined;
  /** When the engine's and the agents' pass tickers started. */
  private readonly origin = Date.now();
  /** When each request lane of a realistic fleetd is next free. */
  private readonly lanes: number[];

  constructor(options: FleetServerOptions = {}) {
    this.transitionMs = options.transitionMs ?? 0;
    this.pageSize = options.pageSize ?? 100;
    this.timing = options.realistic ? { ...REALISTIC_TIMING, ...options.realistic } : undefined;
    this.lanes = Array.from({ length: Math.max(1, this.timing?.concurrency ?? 1) }, () => 0);
    this.machines = Array.from({ length: options.machines ?? 3 }, (_, i) => ({
      id: `${(i + 1).toString(16).repeat(8)}${"0".repeat(24)}`,
      primaryIP: `10.0.0.${i + 1}`,
      metadata: { role: i === 0 ? "api" : "worker" },
    }));
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  /** Listens on a unix socket path, or on 127.0.0.1 with an OS-assigned port. */
  async listen(where: { socketPath: string } | { port: 0 } = { port: 0 }): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      if ("socketPath" in where) this.server.listen(where.socketPath, resolve);
      else this.server.listen(0, "127.0.0.1", resolve);
    });
    if ("socketPath" in where) {
      this.socketPath = where.socketPath;
      this.endpoint = `unix://${where.socketPath}`;
    } else {
      this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }
    return this.endpoint;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.socketPath) await rm(this.socketPath, { force: true });
  }

  /** The next `count` requests fail with `status` (an error entity), are dropped, or are slowed. */
  failNext(count: number, status = 503): void {
    for (let i = 0; i < count; i++) this.faults.push({ kind: "status", status });
  }
  dropNext(count: number): void {
    for (let i = 0; i < count; i++) this.faults.push({ kind: "drop" });
  }
  slowNext(count: number, ms: number): void {
    for (let i = 0; i < count; i++) this.faults.push({ kind: "slow", ms });
  }
  /** Units matching this name (or pattern) fail to start: systemd reports failed/failed. */
  failUnit(name: string | RegExp): void {
    this.failing.push(name);
  }
  healUnit(name: string | RegExp): void {
    const i = this.failing.findIndex((f) => String(f) === String(name));
    if (i >= 0) this.failing.splice(i, 1);
  }
  /** Drops faults not yet consumed. */
  clearFaults(): void {
    this.faults.length = 0;
  }
  resetCounts(): void {
    this.counts = { total: 0, byRoute: {} };
    this.log = [];
  }

  /** The cluster-level state fleet reports for a unit now. */
  currentState(unit: FakeUnit, now = Date.now()): string {
    if (isTemplateName(unit.name)) return "inactive";
    if (this.timing) return this.realisticPhase(unit, now).current;
    if (!unit.machineID && (unit.desiredState === "loaded" || unit.desiredState === "launched")) {
      unit.machineID = pickMachine(unit, this.machines, this.placed()); // tried again, as fleetd's engine does
    }
    if (!unit.machineID) return "inactive"; // no machine can take it
    const steps = this.transitionMs === 0 ? Infinity : Math.floor((now - unit.since) / this.transitionMs);
    switch (unit.desiredState) {
      case "loaded":
        return steps >= 1 ? "loaded" : "inactive";
      case "launched":
        return steps >= 2 ? "launched" : steps >= 1 ? "loaded" : "inactive";
      default:
        return "inactive"; // inactive, or a corrupt value fleet's engine cannot act on
    }
  }

  /** What the machine's systemd reports (the /state entry), if the unit is on a machine. */
  unitState(unit: FakeUnit, now = Date.now()): Record<string, string> | undefined {
    if (this.timing) return this.realisticState(unit, now);
    const current = this.currentState(unit, now);
    const base = { name: unit.name, machineID: unit.machineID };
    if (current === "inactive") {
      if (unit.previousHash && unit.desiredState === "launched") {
        return { ...base, hash: unit.previousHash, ...systemd("active") };
      }
      return undefined;
    }
    const hash = (unit.hash ??= unitHash(unit.options));
    if (current === "loaded") return { ...base, hash, ...systemd("inactive") };
    return { ...base, hash, ...systemd(this.isFailing(unit) ? "failed" : "active") };
  }

  private isFailing(unit: FakeUnit): boolean {
    return this.failing.some((f) => (typeof f === "string" ? f === unit.name : f.test(unit.name)));
  }

  /**
   * Realistic clock: the engine's pass after the PUT gives the unit a machine (if one can take it),
   * that machine's agent pass after that starts it, and systemd has it active startMs later.
   */
  private realisticPhase(
    unit: FakeUnit,
    now: number,
  ): { current: string; agentAt: number; activeAt: number; scheduled: boolean } {
    const t = this.timing as FleetTiming;
    const never = { current: "inactive", agentAt: Infinity, activeAt: Infinity, scheduled: false };
    if (unit.desiredState !== "loaded" && unit.desiredState !== "launched") return never;
    const scheduledAt = nextPass(unit.since, t.enginePassMs, this.origin);
    if (now < scheduledAt) return never;
    if (!unit.machineID) {
      unit.machineID = pickMachine(unit, this.machines, this.placed(), unit.previousMachineID ?? "");
      if (!unit.machineID) return never; // tried again on every pass, as fleetd's engine does
    }
    const index = Math.max(
      0,
      this.machines.findIndex((m) => m.id === unit.machineID),
    );
    const agentOrigin = this.origin + (index * t.agentPassMs) / this.machines.length;
    const agentAt = nextPass(Math.max(scheduledAt, unit.since + 1), t.agentPassMs, agentOrigin);
    const activeAt = agentAt + t.startMs;
    if (now < agentAt) return { current: "inactive", agentAt, activeAt, scheduled: true };
    return { current: unit.desiredState, agentAt, activeAt, scheduled: true };
  }

  private realisticState(unit: FakeUnit, now: number): Record<string, string> | undefined {
    if (isTemplateName(unit.name)) return undefined;
    const phase = this.realisticPhase(unit, now);
    if (now < phase.agentAt) {
      // the machine runs the previous unit file until its agent picks up the replacement
      if (unit.previousHash && unit.previousMachineID) {
        return {
          name: unit.name,
          machineID: unit.previousMachineID,
          hash: unit.previousHash,
          ...systemd("active"),
        };
      }
      return undefined;
    }
    const base = { name: unit.name, machineID: unit.machineID, hash: (unit.hash ??= unitHash(unit.options)) };
    if (unit.desiredState === "loaded" || now < phase.activeAt) return { ...base, ...systemd("inactive") };
    return { ...base, ...systemd(this.isFailing(unit) ? "failed" : "active") };
  }

  /** Units on a machine now (for Conflicts=). */
  private placed(): FakeUnit[] {
    return [...this.units.values()].filter(
      (u) => u.machineID !== "" && (u.desiredState === "loaded" || u.desiredState === "launched"),
    );
  }

  /** Holds a request as long as a real fleetd at this many units would (realistic mode). */
  private async cost(method: string, path: string): Promise<void> {
    const t = this.timing;
    if (!t) return;
    const n = this.units.size;
    const ms =
      path === "/fleet/v1/units"
        ? t.unitsPageMsPerUnit * n
        : path === "/fleet/v1/state"
          ? t.statePageMsPerUnit * n
          : path === "/fleet/v1/machines"
            ? t.machinesMs
            : method === "PUT"
              ? t.putMs
              : method === "DELETE"
                ? t.deleteMs
                : t.getUnitMs;
    const lane = this.lanes.indexOf(Math.min(...this.lanes));
    const start = Math.max(Date.now(), this.lanes[lane] ?? 0);
    this.lanes[lane] = start + ms;
    await sleep(start + ms - Date.now());
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fleet");
    const route = `${req.method ?? "?"} ${url.pathname.replace(/^(\/fleet\/v1\/units\/).+$/, "$1NAME")}`;
    this.counts.total++;
    this.counts.byRoute[route] = (this.counts.byRoute[route] ?? 0) + 1;
    this.log.push(`${req.method ?? "?"} ${url.pathname}${url.search}`);
    const body = await readBody(req);
    if (this.delayMs > 0) await sleep(this.delayMs);
    const fault = this.faults.shift();
    if (fault?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "slow") await sleep(fault.ms);
    await this.cost(req.method ?? "", url.pathname);
    if (fault?.kind === "status") {
      sendError(res, fault.status, "injected fault");
      return;
    }
    this.route(req.method ?? "", url, req.headers, body, res);
  }

  private route(
    method: string,
    url: URL,
    headers: http.IncomingHttpHeaders,
    body: string,
    res: http.ServerResponse,
  ): void {
    const path = url.pathname;
    if (path === "/fleet/v1/units") {
      if (method !== "GET") return sendError(res, 405, "only GET supported against this resource");
      return this.page(res, url, "units", this.sortedUnits(), (u) => this.toWire(u));
    }
    if (path.startsWith("/fleet/v1/units/") && path.length > "/fleet/v1/units/".length) {
      const item = decodeURIComponent(path.slice("/fleet/v1/units/".length));
      if (method === "GET") {
        const unit = this.units.get(item);
        if (!unit) return sendError(res, 404, "unit does not exist");
        return sendJson(res, 200, this.toWire(unit));
      }
      if (method === "DELETE") {
        if (!this.units.delete(item)) return sendError(res, 404, "unit does not exist");
        res.writeHead(204).end();
        return;
      }
      if (method === "PUT") return this.set(item, headers, body, res);
      return sendError(res, 405, "only GET, PUT and DELETE supported against this resource");
    }
    if (path === "/fleet/v1/state") {
      if (method !== "GET") return sendError(res, 405, "only GET supported against this resource");
      const unitName = url.searchParams.get("unitName");
      const machineID = url.searchParams.get("machineID");
      const now = Date.now();
      const units =
        unitName === null ? this.sortedUnits() : [this.units.get(unitName)].filter((u) => u !== undefined);
      const states = units
        .map((u) => this.unitState(u, now))
        .filter((s): s is Record<string, string> => s !== undefined)
        .filter(
          (s) =>
            (unitName === null || s.name === unitName) && (machineID === null || s.machineID === machineID),
        );
      return this.page(res, url, "states", states);
    }
    if (path === "/fleet/v1/machines") {
      if (method !== "GET") return sendError(res, 405, "only GET supported against this resource");
      return this.page(res, url, "machines", this.machines);
    }
    sendError(res, 404);
  }

  /** api.unitsResource.set of fleetd v1.0.0, step by step. */
  private set(item: string, headers: http.IncomingHttpHeaders, body: string, res: http.ServerResponse): void {
    const contentType = headers["content-type"];
    if (contentType === undefined) return sendError(res, 415, "expected 1 Content-Type, got 0");
    if ((contentType.split(";")[0] ?? "").trim() !== "application/json") {
      return sendError(res, 415, "only acceptable Content-Type is application/json");
    }
    const decoded = decodeUnit(body);
    if ("error" in decoded) return sendError(res, 400, `unable to decode body: ${decoded.error}`);
    const su = decoded.unit;
    const name = su.name || item;
    if (name !== item) {
      return sendError(res, 400, `name in URL "${item}" differs from unit name in request body "${name}"`);
    }
    const invalid = validateName(name);
    if (invalid) return sendError(res, 400, invalid);
    const existing = this.units.get(name);
    if (!existing) {
      if (su.options.length === 0) return sendError(res, 409, "unit does not exist and options field empty");
      this.create(name, su.options, su.desiredState);
      res.writeHead(201).end();
      return;
    }
    if (su.options.length > 0 && unitHash(su.options) !== (existing.hash ??= unitHash(existing.options))) {
      // A new version of the unit: fleetd replaces it, desiredState "" meaning inactive.
      this.create(name, su.options, su.desiredState, existing);
      res.writeHead(201).end();
      return;
    }
    if (su.desiredState === "")
      return sendError(res, 409, "must provide DesiredState to update existing unit");
    if (isTemplateName(name) && su.desiredState !== "inactive") {
      return sendError(res, 400, `cannot activate template "${name}"`);
    }
    if (existing.desiredState !== su.desiredState) {
      existing.desiredState = su.desiredState; // not validated: a bad value corrupts the unit
      existing.since = Date.now();
      delete existing.previousHash;
      delete existing.previousMachineID;
      if (this.timing) existing.machineID = ""; // rescheduled on the next engine pass
    }
    res.writeHead(204).end();
  }

  private create(name: string, options: WireOption[], desiredState: string, previous?: FakeUnit): void {
    const running = previous ? this.unitState(previous) : undefined;
    const unit: FakeUnit = {
      name,
      options,
      desiredState: desiredState === "" ? "inactive" : desiredState,
      machineID: "",
      since: Date.now(),
      hash: unitHash(options),
    };
    if (running?.systemdActiveState === "active" && running.hash) {
      unit.previousHash = running.hash;
      unit.previousMachineID = running.machineID ?? "";
    }
    if (previous) this.units.delete(name);
    // Immediate clock: placed at once; realistic: on the engine's next pass (realisticPhase).
    if (!this.timing) unit.machineID = pickMachine(unit, this.machines, this.placed(), previous?.machineID);
    this.units.set(name, unit);
  }

  private sortedUnits(): FakeUnit[] {
    return [...this.units.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private toWire(unit: FakeUnit): Record<string, unknown> {
    const current = this.currentState(unit);
    return {
      currentState: current,
      desiredState: unit.desiredState,
      machineID: current === "inactive" ? "" : unit.machineID,
      name: unit.name,
      options: unit.options.map((o) => ({ name: o.name, section: o.section, value: o.value })),
    };
  }

  /** One page of `all`; `wire` turns only the page's items into their JSON form. */
  private page<T>(
    res: http.ServerResponse,
    url: URL,
    key: string,
    all: T[],
    wire: (item: T) => unknown = (item) => item,
  ): void {
    const tokens = url.searchParams.getAll("nextPageToken");
    if (tokens.length > 1) return sendError(res, 400, "too many values for page token");
    let page = 1;
    if (tokens.length === 1) {
      const decoded = decodePageToken(tokens[0] ?? "", this.pageSize);
      if ("error" in decoded) return sendError(res, 400, decoded.error);
      page = decoded.page;
    }
    const start = (page - 1) * this.pageSize;
    const stop = page * this.pageSize;
    const body: Record<string, unknown> = {};
    if (start < all.length) {
      body[key] = all.slice(start, Math.min(stop, all.length)).map(wire);
      if (stop < all.length) body.nextPageToken = encodePageToken(this.pageSize, page + 1);
    }
    sendJson(res, 200, body);
  }
}

function systemd(active: "active" | "inactive" | "failed"): Record<string, string> {
  const sub = active === "active" ? "running" : active === "failed" ? "failed" : "dead";
  return { systemdLoadState: "loaded", systemdActiveState: active, systemdSubState: sub };
}

/** Decodes a schema.Unit the way Go's json.Decoder would, with its error wording. */
function decodeUnit(
  body: string,
): { unit: { name: string; desiredState: string; options: WireOption[] } } | { error: string } {
  if (body.trim() === "") return { error: "EOF" };
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    return { error: (error as Error).message };
  }
  if (raw === null) return { unit: { name: "", desiredState: "", options: [] } };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return {
      error: `json: cannot unmarshal ${Array.isArray(raw) ? "array" : typeof raw} into Go value of type schema.Unit`,
    };
  }
  const r = raw as Record<string, unknown>;
  for (const field of ["name", "desiredState", "currentState", "machineID"]) {
    const v = r[field];
    if (v !== undefined && v !== null && typeof v !== "string") {
      return {
        error: `json: cannot unmarshal ${typeof v} into Go struct field Unit.${field} of type string`,
      };
    }
  }
  const options: WireOption[] = [];
  if (r.options !== undefined && r.options !== null) {
    if (!Array.isArray(r.options))
      return { error: "json: cannot unmarshal into Go struct field Unit.options" };
    for (const o of r.options as unknown[]) {
      const opt = (o ?? {}) as Record<string, unknown>;
      const get = (k: string): string | undefined => {
        const v = opt[k];
        return v === undefined || v === null ? "" : typeof v === "string" ? v : undefined;
      };
      const section = get("section");
      const name = get("name");
      const value = get("value");
      if (section === undefined || name === undefined || value === undefined) {
        return { error: "json: cannot unmarshal into Go struct field UnitOption of type string" };
      }
      options.push({ section, name, value });
    }
  }
  return {
    unit: {
      name: typeof r.name === "string" ? r.name : "",
      desiredState: typeof r.desiredState === "string" ? r.desiredState : "",
      options,
    },
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startFleetServer(
  options: FleetServerOptions & { socketPath?: string } = {},
): Promise<FakeFleetServer> {
  const server = new FakeFleetServer(options);
  await server.listen(options.socketPath ? { socketPath: options.socketPath } : { port: 0 });
  return server;
}
