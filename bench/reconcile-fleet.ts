// Benchmark: reconcile 1,000 fleet units against the fake fleetd (its own process, unix socket) —
// no-op and all-changed — side by side with the naive way: one request per unit, sequentially, like a
// `fleetctl cat` loop (no-op) and a `fleetctl cat` + submit loop (all changed). Each sysconfig run is
// its own process, so its peak RSS is the reconciler's alone.
// Run: npm run build && node dist/bench/reconcile-fleet.js [units]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runReconcile } from "../reconciler/pipeline/reconcile.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import {
  createFleetTarget,
  type FleetTarget,
  type FleetTargetConfig,
} from "../reconciler/targets/fleet/fleet-target.js";
import { fleetUnitHash, normalizeOptions, parseUnitFile } from "../reconciler/targets/fleet/unit-file.js";
import { writeFleetRepo, type FleetServiceSpec } from "../test/fleet-server/config-repo.js";

const here = fileURLToPath(import.meta.url);

interface PhaseResult {
  ms: number;
  loadMs: number;
  requests: number;
  rssMb: number;
  actions: Record<string, number>;
  statuses: Record<string, number>;
}

/** Child mode: one reconcile (or plan) of REPO; prints a PhaseResult as JSON. */
async function phase(repo: string, planOnly: boolean): Promise<void> {
  let target: FleetTarget | undefined;
  const started = performance.now();
  let loadMs = 0;
  const outcome = await runReconcile(
    {
      repo,
      environment: "staging",
      planOnly,
      guard: { allowMassDelete: false },
      wait: true,
      timeoutSeconds: 120,
      waitLock: false,
      lockOwner: "bench",
    },
    {
      createTarget: (config, options) => {
        loadMs = performance.now() - started;
        target = createFleetTarget(config as FleetTargetConfig, options, { pollMs: 50 });
        return Promise.resolve(target);
      },
      reporter: silentReporter,
      env: process.env,
    },
  );
  const tally = (values: string[]) =>
    values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
  const result: PhaseResult = {
    ms: performance.now() - started,
    loadMs,
    requests: target?.client.requests ?? 0,
    rssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    actions: tally(outcome.changeSet.changes.map((c) => c.action)),
    statuses: tally((outcome.results ?? []).map((r) => r.status)),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${args.join(" ")} exited ${code}`)),
    );
  });
}

async function runPhase(repo: string, planOnly: boolean): Promise<PhaseResult> {
  const out = await runChild([here, "--phase", planOnly ? "plan" : "reconcile", repo]);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as PhaseResult;
}

function startServer(socketPath: string): Promise<ChildProcess> {
  const serve = path.join(path.dirname(here), "../test/fleet-server/serve.js");
  const child = spawn(process.execPath, [serve, socketPath], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`fake fleetd exited with ${code}`)));
  });
}

/** The naive client: one request at a time over one keep-alive connection. */
function naiveCaller(socketPath: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const stats = { requests: 0 };
  const call = (method: string, p: string, body?: unknown) =>
    new Promise<string>((resolve, reject) => {
      stats.requests++;
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = payload === undefined ? {} : { "content-type": "application/json" };
      const req = http.request({ socketPath, agent, method, path: p, headers }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end(payload);
    });
  return { call, stats, close: () => agent.destroy() };
}

async function main(units: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-fleet-"));
  const socketPath = path.join(dir, "fleet.sock");
  const endpoint = `unix://${socketPath}`;
  const server = await startServer(socketPath);
  const repo = path.join(dir, "repo");
  const services = (tag: string): Record<string, FleetServiceSpec> =>
    Object.fromEntries(
      Array.from({ length: units }, (_, i) => [`svc${String(i).padStart(4, "0")}`, { tag }]),
    );
  try {
    await writeFleetRepo(repo, { name: "bench", endpoint, services: services("1-staging") });
    const create = await runPhase(repo, false);
    const plan = await runPhase(repo, true);
    const noop = await runPhase(repo, false);
    await writeFleetRepo(repo, { name: "bench", endpoint, services: services("2-staging") });
    const changed = await runPhase(repo, false);

    const naive = naiveCaller(socketPath);
    const names = Object.keys(services("x")).map((s) => `${s}.service`);
    let started = performance.now();
    for (const name of names) {
      const unit = JSON.parse(await naive.call("GET", `/fleet/v1/units/${name}`)) as { options: unknown };
      fleetUnitHash(normalizeOptions(unit.options));
    }
    const naiveNoop = { ms: performance.now() - started, requests: naive.stats.requests };
    naive.stats.requests = 0;
    const options = parseUnitFile("[Service]\nExecStart=/bin/sleep 3000\n");
    started = performance.now();
    for (const name of names) {
      await naive.call("GET", `/fleet/v1/units/${name}`);
      await naive.call("PUT", `/fleet/v1/units/${name}`, { desiredState: "launched", options });
    }
    const naiveChanged = { ms: performance.now() - started, requests: naive.stats.requests };
    naive.close();

    const ms = (v: number) => `${Math.round(v)} ms`.padStart(9);
    const row = (label: string, wall: number, requests: number, notes: string) =>
      `${label.padEnd(46)} ${ms(wall)} ${String(requests).padStart(9)}  ${notes}`;
    const sys = (r: PhaseResult, what: string) =>
      `${what}; target part ${Math.round(r.ms - r.loadMs)} ms (loading+render check ${Math.round(r.loadMs)} ms); peak RSS ${r.rssMb} MB`;
    const lines = [
      `reconcile-fleet: ${units} units (${units} single-instance services); fake fleetd in its own process on a unix socket;`,
      `each sysconfig run is a fresh process (RSS is the reconciler's); naive = one request at a time, no health check`,
      `${"".padEnd(46)} ${"wall".padStart(9)} ${"requests".padStart(9)}  notes`,
      row(
        "sysconfig reconcile: create all, wait active",
        create.ms,
        create.requests,
        sys(create, `${create.statuses.healthy ?? 0} healthy`),
      ),
      row(
        "sysconfig plan, nothing changed",
        plan.ms,
        plan.requests,
        sys(plan, `${plan.actions.unchanged ?? 0} unchanged`),
      ),
      row("sysconfig reconcile, nothing changed", noop.ms, noop.requests, sys(noop, "incl. lock")),
      row(
        "naive no-op: GET every unit (fleetctl cat loop)",
        naiveNoop.ms,
        naiveNoop.requests,
        `${(naiveNoop.requests / Math.max(1, noop.requests)).toFixed(0)}× the requests`,
      ),
      row(
        "sysconfig reconcile, all changed, wait active",
        changed.ms,
        changed.requests,
        sys(changed, `${changed.statuses.healthy ?? 0} replaced + confirmed`),
      ),
      row(
        "naive all changed: GET+PUT each, sequential",
        naiveChanged.ms,
        naiveChanged.requests,
        "replaced, never confirmed",
      ),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    server.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === "--phase") await phase(args[2] ?? "", args[1] === "plan");
else await main(Number(args[0] ?? 1000));
