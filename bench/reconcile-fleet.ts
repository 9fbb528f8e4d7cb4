// Benchmark: reconcile 1,000 fleet units against the fake fleetd (its own process, unix socket) —
// no-op and all-changed — side by side with the naive way, one request per unit, sequentially: a
// `fleetctl cat` loop (no-op), cat + submit (all changed), cat + submit + wait for the unit to run
// (all changed, confirmed, like `fleetctl start`). Every run, sysconfig's and the naive loop's, is a
// fresh process, so peak RSS is that run's alone. Run twice: with the fake answering at once, and
// with a per-request latency standing in for a real fleetd (whose API reads etcd on every call).
// Run: npm run build && node dist/bench/reconcile-fleet.js [units] [latencyMs]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
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
import { normalizeOptions } from "../reconciler/targets/fleet/unit-file.js";
import { writeFleetRepo, type FleetServiceSpec } from "../test/fleet-server/config-repo.js";

const here = fileURLToPath(import.meta.url);

interface RunResult {
  ms: number;
  /** Time spent before the target was created: loading the config and checking rendered/. */
  loadMs: number;
  requests: number;
  rssMb: number;
  note: string;
}

const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Child: one `sysconfig reconcile` (or plan) of REPO through the pipeline. */
async function sysconfigRun(repo: string, mode: string): Promise<RunResult> {
  let target: FleetTarget | undefined;
  const started = performance.now();
  let loadMs = 0;
  const outcome = await runReconcile(
    {
      repo,
      environment: "staging",
      planOnly: mode === "plan",
      guard: { allowMassDelete: false },
      wait: mode !== "no-wait",
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
  const count = (values: string[]) =>
    Object.entries(values.reduce<Record<string, number>>((a, v) => ({ ...a, [v]: (a[v] ?? 0) + 1 }), {}))
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
  const results = outcome.results ?? [];
  return {
    ms: performance.now() - started,
    loadMs,
    requests: target?.client.requests ?? 0,
    rssMb: rss(),
    note:
      results.length > 0
        ? count(results.map((r) => r.status))
        : count(outcome.changeSet.changes.map((c) => c.action)),
  };
}

/** Child: the naive loop over the units of REPO's rendered/ — one request at a time. */
async function naiveRun(repo: string, socketPath: string, mode: string): Promise<RunResult> {
  const names = (await readdir(path.join(repo, "rendered"))).sort();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let requests = 0;
  const call = (method: string, p: string, body?: unknown) =>
    new Promise<string>((resolve, reject) => {
      requests++;
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
  const started = performance.now();
  let changed = 0;
  for (const name of names) {
    const live = JSON.parse(await call("GET", `/fleet/v1/units/${name}`)) as { options?: unknown };
    if (mode === "noop") continue;
    // cat, edit, submit: the live unit (marker included) with one option changed, so the PUT replaces it
    const options = [
      ...normalizeOptions(live.options).filter((o) => o.section !== "X-Bench"),
      { section: "X-Bench", name: "Run", value: `${mode}-${Date.now()}` },
    ];
    await call("PUT", `/fleet/v1/units/${name}`, { desiredState: "launched", options });
    changed++;
    while (
      mode === "confirm" &&
      !(await call("GET", `/fleet/v1/state?unitName=${name}`)).includes('"active"')
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  agent.destroy();
  return {
    ms: performance.now() - started,
    loadMs: 0,
    requests,
    rssMb: rss(),
    note: mode === "noop" ? "read only" : `${changed} replaced`,
  };
}

function child(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [here, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.once("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as RunResult)
        : reject(new Error(`${args.join(" ")} exited ${code}`)),
    );
  });
}

function startServer(socketPath: string, latencyMs: number): Promise<ChildProcess> {
  const serve = path.join(path.dirname(here), "../test/fleet-server/serve.js");
  const proc = spawn(process.execPath, [serve, socketPath, "0", String(latencyMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    proc.stdout?.once("data", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`fake fleetd exited with ${code}`)));
  });
}

async function table(units: number, latencyMs: number): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-fleet-"));
  const socketPath = path.join(dir, "fleet.sock");
  const endpoint = `unix://${socketPath}`;
  const server = await startServer(socketPath, latencyMs);
  const repo = path.join(dir, "repo");
  const services = (tag: string): Record<string, FleetServiceSpec> =>
    Object.fromEntries(
      Array.from({ length: units }, (_, i) => [`svc${String(i).padStart(4, "0")}`, { tag }]),
    );
  const write = (tag: string) => writeFleetRepo(repo, { name: "bench", endpoint, services: services(tag) });
  try {
    await write("1-staging");
    const create = await child(["--sysconfig", repo, "wait"]);
    const plan = await child(["--sysconfig", repo, "plan"]);
    const noop = await child(["--sysconfig", repo, "wait"]);
    const naiveNoop = await child(["--naive", repo, socketPath, "noop"]);
    await write("2-staging");
    const changed = await child(["--sysconfig", repo, "wait"]);
    const naiveConfirm = await child(["--naive", repo, socketPath, "confirm"]);
    await write("3-staging");
    const changedNoWait = await child(["--sysconfig", repo, "no-wait"]);
    const naiveChanged = await child(["--naive", repo, socketPath, "put"]);

    const row = (label: string, r: RunResult, extra = "") =>
      `${label.padEnd(44)} ${`${Math.round(r.ms)} ms`.padStart(9)} ${String(r.requests).padStart(8)} ` +
      `${`${r.rssMb} MB`.padStart(7)}  ${r.note}${r.loadMs > 0 ? `; of which loading + render check ${Math.round(r.loadMs)} ms` : ""}${extra}`;
    const vs = (naive: RunResult, ours: RunResult) =>
      ` — ${(naive.ms / ours.ms).toFixed(1)}× sysconfig's time, ${(naive.ms / (ours.ms - ours.loadMs)).toFixed(1)}× its target part`;
    return [
      `${units} units, fake fleetd answering ${latencyMs === 0 ? "at once" : `after ${latencyMs} ms per request`}:`,
      `${"".padEnd(44)} ${"wall".padStart(9)} ${"requests".padStart(8)} ${"peakRSS".padStart(7)}  notes`,
      row("sysconfig reconcile (create all, wait)", create),
      row("sysconfig plan, nothing changed", plan),
      row("sysconfig reconcile, nothing changed", noop, " (incl. lock)"),
      row("naive no-op: GET each unit (fleetctl cat)", naiveNoop, vs(naiveNoop, noop)),
      row("sysconfig reconcile, all changed, wait", changed),
      row("naive: GET+PUT+poll state each (start)", naiveConfirm, vs(naiveConfirm, changed)),
      row("sysconfig reconcile --no-wait, all changed", changedNoWait),
      row("naive: GET+PUT each (cat + submit)", naiveChanged, vs(naiveChanged, changedNoWait)),
    ];
  } finally {
    server.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === "--sysconfig") {
  process.stdout.write(`${JSON.stringify(await sysconfigRun(args[1] ?? "", args[2] ?? "wait"))}\n`);
} else if (args[0] === "--naive") {
  process.stdout.write(
    `${JSON.stringify(await naiveRun(args[1] ?? "", args[2] ?? "", args[3] ?? "noop"))}\n`,
  );
} else if (args[0] === "--baseline") {
  await import("../reconciler/pipeline/reconcile.js");
  await import("../reconciler/targets/fleet/fleet-target.js");
  process.stdout.write(`${JSON.stringify({ ms: 0, loadMs: 0, requests: 0, rssMb: rss(), note: "" })}\n`);
} else {
  const units = Number(args[0] ?? 1000);
  const latency = Number(args[1] ?? 2);
  const lines = [
    "reconcile-fleet: each run a fresh process; naive = one request at a time over one connection",
    "",
  ];
  lines.push(...(await table(units, 0)), "");
  lines.push(...(await table(units, latency)), "");
  const baseline = await child(["--baseline"]);
  lines.push(
    `peak RSS of node + sysconfig's modules before any work (the floor of every figure): ${baseline.rssMb} MB`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}
