// Benchmark: the local work of one sysconfig run — `sysconfig validate` of a fleet config repo with 1,000
// and 2,000 services (no network at all), and `sysconfig plan` with nothing to change against the fake
// fleetd answering at once (its own process; what remains is the local part: module load, YAML, schema,
// render, the rendered/ check, git, the desired units, the diff). Each run is a fresh `node dist/cli/main.js`
// process, as an operator or the config image runs it; its wall time, its CPU time (user + system, git's
// child process not included) and its peak RSS are taken inside it at exit. On a loaded machine the wall
// time grows with the load, the CPU time much less: both are printed, with the load average.
// With --baseline MAIN_JS (another build's dist/cli/main.js), both run in turn, in the same conditions.
// Under them, the floor (local-floor.ts): what the first steps of validate cost in any fresh process.
// Run: npm run build && node dist/bench/local.js [runs] [--baseline /path/to/old/dist/cli/main.js]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RECONCILER_NODE_FLAGS } from "../cli/images/node-flags.js";
import { writeFleetRepo, type FleetServiceSpec } from "../test/fleet-server/config-repo.js";
import { runCli, writeProbe, type Run } from "./cli-probe.js";
import { floorPrograms } from "./local-floor.js";

const here = fileURLToPath(import.meta.url);
const cli = path.join(path.dirname(here), "../cli/main.js");

async function repo(dir: string, services: number, endpoint: string): Promise<string> {
  const name = (i: number) => `svc${String(i).padStart(4, "0")}`;
  const specs: Record<string, FleetServiceSpec> = Object.fromEntries(
    Array.from({ length: services }, (_, i) => [name(i), { tag: "1-staging" }]),
  );
  const at = path.join(dir, `repo-${services}`);
  execFileSync("git", ["init", "-q", "-b", "staging", at]);
  await writeFleetRepo(at, { name: `bench${services}`, endpoint, services: specs });
  execFileSync("git", ["-C", at, "add", "-A"]);
  execFileSync("git", [
    "-C",
    at,
    "-c",
    "user.name=bench",
    "-c",
    "user.email=bench@example.com",
    "commit",
    "-qm",
    "bench",
  ]);
  return at;
}

function startServer(socketPath: string): Promise<ChildProcess> {
  const serve = path.join(path.dirname(here), "../test/fleet-server/serve.js");
  const proc = spawn(process.execPath, [serve, socketPath, "0"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    proc.stdout?.once("data", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`fake fleetd exited with ${code}`)));
  });
}

/** The median run by wall time, and the range. */
function summary(runs: Run[]): string {
  const by = (k: keyof Run) => [...runs].sort((a, b) => a[k] - b[k]);
  const med = (k: keyof Run) => by(k)[Math.floor(runs.length / 2)]?.[k] ?? 0;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const failed = runs.filter((r) => r.exitCode !== 0).length;
  return (
    `${s(med("wallMs")).padStart(8)} ${s(med("cpuMs")).padStart(8)} ${`${med("rssMb")} MB`.padStart(8)}` +
    `   (wall ${s(by("wallMs")[0]?.wallMs ?? 0)}–${s(by("wallMs").at(-1)?.wallMs ?? 0)}, ${runs.length} runs` +
    `${failed > 0 ? `, ${failed} FAILED` : ""})`
  );
}

async function main(runs: number, baseline: string | undefined): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-local-"));
  const probe = await writeProbe(dir);
  const socketPath = path.join(dir, "fleet.sock");
  const server = await startServer(socketPath);
  const endpoint = `unix://${socketPath}`;
  try {
    const repo1000 = await repo(dir, 1000, endpoint);
    const repo2000 = await repo(dir, 2000, endpoint);
    const builds: [string, string][] = [
      ["", cli],
      ...(baseline ? [["baseline ", baseline] as [string, string]] : []),
    ];
    /** `runs` runs of each build, taking turns so that both see the same load. */
    const times = async (args: string[]) => {
      const out = builds.map(() => [] as Run[]);
      for (let i = 0; i < runs; i++) {
        for (const [b, [, main]] of builds.entries())
          out[b]?.push(await runCli(probe, RECONCILER_NODE_FLAGS, main, args));
      }
      return out;
    };
    const help = await times(["--help"]);
    const v1000 = await times(["validate", "--repo", repo1000]);
    const v2000 = await times(["validate", "--repo", repo2000]);
    // The fake fleetd gets the 1,000 units once (not timed); then plan has nothing to change.
    const created = await runCli(probe, RECONCILER_NODE_FLAGS, cli, ["reconcile", "--repo", repo1000]);
    if (created.exitCode !== 0) throw new Error(`reconcile of ${repo1000} exited ${created.exitCode}`);
    const plan = await times(["plan", "--repo", repo1000]);
    // What the first steps of validate cost in any fresh process (local-floor.ts), in the same conditions.
    const floors: [string, Run[]][] = [];
    for (const [label, program] of await floorPrograms()) {
      const results: Run[] = [];
      for (let i = 0; i < runs; i++)
        results.push(await runCli(probe, RECONCILER_NODE_FLAGS, program, [repo1000]));
      floors.push([label, results]);
    }
    const med = (r: Run[] = []) =>
      [...r].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(r.length / 2)]?.wallMs ?? 0;
    const rows: string[] = [];
    const row = (label: string, results: Run[][]) =>
      builds.forEach(([name], b) =>
        rows.push(`${`${name}${label}`.padEnd(60)} ${summary(results[b] ?? [])}`),
      );
    row("sysconfig --help (node + module load)", help);
    row("sysconfig validate, 1,000 services", v1000);
    row("sysconfig validate, 2,000 services", v2000);
    row("sysconfig plan, 1,000 units, nothing to change", plan);
    rows.push("floor: fresh processes doing only validate's first steps, 1,000 services (local-floor.ts)");
    for (const [label, results] of floors) rows.push(`  ${label.padEnd(58)} ${summary(results)}`);
    const lines = [
      `local: fresh CLI processes, median of ${runs}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(
          " ",
        )} on ${os.availableParallelism()} cores (wall time grows with the load, CPU time much less)`,
      "",
      `${"".padEnd(60)} ${"wall".padStart(8)} ${"CPU".padStart(8)} ${"peakRSS".padStart(8)}`,
      ...rows,
      `  → validate 2,000 / 1,000: ${(med(v2000[0]) / med(v1000[0])).toFixed(2)}× (linear: ≤ 2×); goal on an idle ` +
        `machine: 1,000 ≤ 0.3 s, 2,000 ≤ 0.6 s wall`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    server.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
const at = argv.indexOf("--baseline");
const baseline = at >= 0 ? argv[at + 1] : undefined;
if (at >= 0) argv.splice(at, 2);
await main(Number(argv[0] ?? 5), baseline);
