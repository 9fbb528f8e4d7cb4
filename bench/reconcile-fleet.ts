// Benchmark: reconcile 1,000 fleet units against the fake fleetd on fleetd's own clock (its own
// process, unix socket; test/fleet-server/scheduling.ts: a unit gets a machine on the engine's pass
// every 2 s, is active after the agent's pass, and every request costs what it costs a real fleetd v1.0.0
// at that many units) — created, all replaced (one tag bumped everywhere) and the no-op — side by side
// with the one-at-a-time way, `fleetctl start` per unit: PUT, sleep 250 ms, wait until /state shows it
// active. At ~3 s a unit that loop would take most of an hour for 1,000 units, so it is timed on a
// sample and extrapolated linearly (said so in the output). Every sysconfig run is a fresh process,
// so peak RSS is that run's alone.
// Run: npm run build && node dist/bench/reconcile-fleet.js [units] [loop sample]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { formatPlanText } from "../reconciler/plan/text.js";
import { runReconcile } from "../reconciler/pipeline/reconcile.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import {
  createFleetTarget,
  type FleetTarget,
  type FleetTargetConfig,
} from "../reconciler/targets/fleet/target.js";
import { normalizeOptions } from "../reconciler/targets/fleet/unit-file.js";
import { writeFleetRepo, type FleetServiceSpec } from "../test/fleet-server/config-repo.js";

const here = fileURLToPath(import.meta.url);

interface RunResult {
  ms: number;
  /**
   * Time spent before the target was created: loading sysconfig.yaml (the target's reads then start, and
   * rendered/ is rendered and checked while they run).
   */
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
      wait: true,
      timeoutSeconds: 300,
      waitLock: false,
      lockOwner: "bench",
    },
    {
      createTarget: (config, options) => {
        loadMs = performance.now() - started;
        target = createFleetTarget(config as FleetTargetConfig, options);
        return Promise.resolve(target);
      },
      // The plan text the CLI prints (diffs included) is built, as `sysconfig reconcile` builds it.
      onPlan: (planned) => {
        formatPlanText(planned.changeSet, { color: false });
      },
      reporter: silentReporter,
      env: process.env,
    },
  );
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

function count(values: string[]): string {
  const by = new Map<string, number>();
  for (const v of values) by.set(v, (by.get(v) ?? 0) + 1);
  return [...by].map(([k, n]) => `${n} ${k}`).join(", ");
}

/** Plain requests to the fake fleetd over one keep-alive connection, counted. */
function rawClient(socketPath: string, connections = 1) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const client = {
    requests: 0,
    call(method: string, p: string, body?: unknown): Promise<string> {
      client.requests++;
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = payload === undefined ? {} : { "content-type": "application/json" };
      return new Promise<string>((resolve, reject) => {
        const req = http.request({ socketPath, agent, method, path: p, headers }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve(text));
        });
        req.on("error", reject);
        req.end(payload);
      });
    },
    /** Every page of a list, as fleetctl and sysconfig read it. */
    async walk(resource: string): Promise<number> {
      let token: string | undefined;
      let items = 0;
      do {
        const page = JSON.parse(
          await client.call("GET", `/fleet/v1/${resource}${token ? `?nextPageToken=${token}` : ""}`),
        ) as Record<string, unknown>;
        const list = page[resource === "state" ? "states" : resource];
        items += Array.isArray(list) ? list.length : 0;
        token = typeof page.nextPageToken === "string" ? page.nextPageToken : undefined;
      } while (token);
      return items;
    },
    close: () => agent.destroy(),
  };
  return client;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Child: `fleetctl start` one unit at a time over `names`: PUT the unit (for a replace: GET it and PUT
 * it with the new tag), sleep 250 ms, then poll /state for that unit until its new hash is active.
 */
async function loopRun(socketPath: string, mode: "create" | "replace", names: string[]): Promise<RunResult> {
  const client = rawClient(socketPath);
  const started = performance.now();
  for (const name of names) {
    let options: { section: string; name: string; value: string }[];
    if (mode === "create") {
      options = [
        {
          section: "Service",
          name: "ExecStart",
          value: `/usr/bin/docker run --rm --name ${name} busybox sleep 3600`,
        },
      ];
    } else {
      const live = JSON.parse(await client.call("GET", `/fleet/v1/units/${name}`)) as { options?: unknown };
      options = normalizeOptions(live.options).map((o) => ({
        ...o,
        value: o.value.replace(/:2-staging/g, ":9-loop"),
      }));
    }
    await client.call("PUT", `/fleet/v1/units/${name}`, { desiredState: "launched", options });
    await sleep(250);
    for (;;) {
      const states = JSON.parse(await client.call("GET", `/fleet/v1/state?unitName=${name}`)) as {
        states?: { systemdActiveState: string; hash: string }[];
      };
      // the replaced unit's old hash stays active until the agent swaps it: wait for a hash we have not seen
      if (states.states?.some((s) => s.systemdActiveState === "active" && !previous.has(`${name} ${s.hash}`)))
        break;
      await sleep(100);
    }
  }
  const ms = performance.now() - started;
  client.close();
  return {
    ms,
    loadMs: 0,
    requests: client.requests,
    rssMb: rss(),
    note: `${names.length} units, one at a time`,
  };
}
/** Unit hashes active before the loop ran (filled by the parent through argv). */
const previous = new Set<string>();

/** Child: the bare paged list requests a no-op needs — every page of /units and of /state, side by side. */
async function listsRun(socketPath: string): Promise<RunResult> {
  const client = rawClient(socketPath, 2);
  const started = performance.now();
  const [units, states] = await Promise.all([client.walk("units"), client.walk("state")]);
  const ms = performance.now() - started;
  client.close();
  return { ms, loadMs: 0, requests: client.requests, rssMb: rss(), note: `${units} units, ${states} states` };
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

function startServer(socketPath: string): Promise<ChildProcess> {
  const serve = path.join(path.dirname(here), "../test/fleet-server/serve.js");
  const proc = spawn(process.execPath, [serve, socketPath, "--realistic"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    proc.stdout?.once("data", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`fake fleetd exited with ${code}`)));
  });
}

async function main(units: number, sample: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-fleet-"));
  const socketPath = path.join(dir, "fleet.sock");
  const endpoint = `unix://${socketPath}`;
  const server = await startServer(socketPath);
  const repo = path.join(dir, "repo");
  const name = (i: number) => `svc${String(i).padStart(4, "0")}`;
  const services = (tag: string): Record<string, FleetServiceSpec> =>
    Object.fromEntries(Array.from({ length: units }, (_, i) => [name(i), { tag }]));
  const write = (tag: string) => writeFleetRepo(repo, { name: "bench", endpoint, services: services(tag) });
  const raw = rawClient(socketPath);
  try {
    await write("1-staging");
    const create = await child(["--sysconfig", repo, "wait"]);
    const loopNames = Array.from({ length: sample }, (_, i) => `loop${String(i).padStart(4, "0")}.service`);
    const loopCreate = await child(["--loop", socketPath, "create", ...loopNames]);
    for (const n of loopNames) await raw.call("DELETE", `/fleet/v1/units/${n}`);

    await write("2-staging");
    const replace = await child(["--sysconfig", repo, "wait"]);
    // the loop replaces a sample of the same units again (2-staging → 9-loop): same work per unit
    const sampleUnits = Array.from(
      { length: sample },
      (_, i) => `${name(i * Math.floor(units / sample))}.service`,
    );
    const loopReplace = await child(["--loop", socketPath, "replace", ...sampleUnits]);
    const fixup = await child(["--sysconfig", repo, "wait"]); // back to 2-staging, not timed

    const plan = await child(["--sysconfig", repo, "plan"]);
    const noop = await child(["--sysconfig", repo, "wait"]);
    const lists = await child(["--lists", socketPath]);

    const perUnit = (r: RunResult) => r.ms / sample;
    const loopAt = (r: RunResult) => perUnit(r) * units;
    const target = (r: RunResult) => r.ms - r.loadMs;
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const row = (label: string, r: RunResult, extra = "") =>
      `${label.padEnd(50)} ${s(r.ms).padStart(9)} ${String(r.requests).padStart(8)} ${`${r.rssMb} MB`.padStart(8)}  ${r.note}${extra}`;
    const lines = [
      `reconcile-fleet: ${units} units, fake fleetd on fleetd v1.0.0's clock (engine pass 2 s, agent pass 2 s,`,
      `start 1 s; /units page 0.18 ms × units, /state page 0.08 ms × units, PUT 18.5 ms; two requests at a time)`,
      "",
      `${"".padEnd(50)} ${"wall".padStart(9)} ${"requests".padStart(8)} ${"peakRSS".padStart(8)}  notes`,
      row("sysconfig reconcile: create all, wait", create, `; config loaded in ${s(create.loadMs)}`),
      row(`one-at-a-time loop (fleetctl start), ${sample} new units`, loopCreate),
      `${"".padEnd(50)} ${s(loopAt(loopCreate)).padStart(9)} ${String(Math.round((loopCreate.requests / sample) * units)).padStart(8)}           ` +
        `EXTRAPOLATED linearly to ${units} (${s(perUnit(loopCreate))} a unit)`,
      `  → create: sysconfig ${(loopAt(loopCreate) / create.ms).toFixed(1)}× faster than the loop (bar ≥ 10×)`,
      "",
      row(
        "sysconfig reconcile: all replaced (tag bump), wait",
        replace,
        `; config loaded in ${s(replace.loadMs)}`,
      ),
      row(`one-at-a-time loop (fleetctl start), ${sample} replaced`, loopReplace),
      `${"".padEnd(50)} ${s(loopAt(loopReplace)).padStart(9)} ${String(Math.round((loopReplace.requests / sample) * units)).padStart(8)}           ` +
        `EXTRAPOLATED linearly to ${units} (${s(perUnit(loopReplace))} a unit)`,
      `  → replace: sysconfig ${(loopAt(loopReplace) / replace.ms).toFixed(1)}× faster than the loop (bar ≥ 10×)`,
      "",
      row("sysconfig plan, nothing changed", plan, `; config loaded in ${s(plan.loadMs)}`),
      row("sysconfig reconcile, nothing changed", noop, `; config loaded in ${s(noop.loadMs)}`),
      row("bare paged list requests (/units + /state)", lists),
      `  → no-op against fleet, all of it (render and check overlap the reads): plan ${(plan.ms / lists.ms).toFixed(2)}×, ` +
        `reconcile ${(noop.ms / lists.ms).toFixed(2)}× the bare list requests (goal ≤ 1.1×; a reconcile ` +
        `with nothing to change takes no lock); after loading the config: plan ${(target(plan) / lists.ms).toFixed(2)}×`,
      "",
      `(not timed: a reconcile back to 2-staging after the loop's sample: ${s(fixup.ms)}, ${fixup.note})`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    raw.close();
    server.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === "--sysconfig") {
  process.stdout.write(`${JSON.stringify(await sysconfigRun(args[1] ?? "", args[2] ?? "wait"))}\n`);
} else if (args[0] === "--loop") {
  const [socketPath = "", mode = "create", ...names] = args.slice(1);
  if (mode === "replace") {
    // the hashes active now (not timed): the loop waits for a new one
    for (const n of names) {
      const c = rawClient(socketPath);
      const one = JSON.parse(await c.call("GET", `/fleet/v1/state?unitName=${n}`)) as {
        states?: { hash: string }[];
      };
      c.close();
      for (const s of one.states ?? []) previous.add(`${n} ${s.hash}`);
    }
  }
  process.stdout.write(`${JSON.stringify(await loopRun(socketPath, mode as "create" | "replace", names))}\n`);
} else if (args[0] === "--lists") {
  process.stdout.write(`${JSON.stringify(await listsRun(args[1] ?? ""))}\n`);
} else {
  await main(Number(args[0] ?? 1000), Number(args[1] ?? 20));
}
