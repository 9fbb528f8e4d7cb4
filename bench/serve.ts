// Soak benchmark of `sysconfig serve` (issue 12 item 5), bounded in time and request count, loopback
// only: serve reconciles 50 fleet units on the fake fleetd (its own process, unix socket) with a
// schedule of seconds, while a second process sends signed webhooks at a steady rate. Prints runs
// completed (by trigger and result), webhook latency p50/p99/max, and serve's RSS and open file
// descriptors at the start and the end (no growth beyond noise expected). Beside it, the naive way:
// one `sysconfig reconcile` process per webhook call, timed once and multiplied.
// Run: npm run build && node dist/bench/serve.js [seconds=60] [webhooks=1200] [units=50]
//      (internally also: node dist/bench/serve.js --load URL SECRET_FILE COUNT SECONDS)
//
// The web page's cost (issue 20): node dist/bench/serve.js pages [objects=1000] [pages=20] [rounds=3]
// runs serve on the fake fleetd with OBJECTS units and times runs that update every one of them, in
// alternation with no page open and with PAGES pages open (each reads /events and fetches / again when a
// run finishes, as the page's script does). Bar: with pages, the run takes < 5 % longer; RSS beside it.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RECONCILER_NODE_FLAGS } from "../cli/images/node-flags.js";
import { writeFleetRepo } from "../test/fleet-server/config-repo.js";
import { runCli } from "../test/helpers/cli.js";
import { metric, startServe } from "../test/helpers/serve-process.js";

const here = fileURLToPath(import.meta.url);

interface LoadResult {
  sent: number;
  statuses: Record<string, number>;
  latenciesMs: number[];
}

/** Second process: COUNT signed webhook calls spread evenly over SECONDS, at most 16 in flight. */
async function load(url: string, secretFile: string, count: number, seconds: number): Promise<LoadResult> {
  const secret = readFileSync(secretFile, "utf8").replace(/[\r\n]+$/, "");
  const interval = (seconds * 1000) / count;
  const statuses: Record<string, number> = {};
  const latenciesMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= 16) await Promise.race(inFlight);
    const body = JSON.stringify({ ref: "refs/heads/staging", after: i.toString(16).padStart(40, "0") });
    const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const t0 = performance.now();
    const p = fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-hub-signature-256": signature,
      },
      body,
    })
      .then(async (res) => {
        await res.arrayBuffer();
        latenciesMs.push(performance.now() - t0);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      })
      .catch(() => {
        statuses.error = (statuses.error ?? 0) + 1;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return { sent: count, statuses, latenciesMs };
}

function startFleet(socketPath: string): Promise<ChildProcess> {
  const serve = path.join(path.dirname(here), "../test/fleet-server/serve.js");
  // 20 ms per state step: a changed unit takes ~40 ms to report active.
  const proc = spawn(process.execPath, [serve, socketPath, "20"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    proc.stdout?.once("data", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`fake fleetd exited with ${code}`)));
  });
}

function loadProcess(args: string[]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [here, "--load", ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load exited ${code}`)),
    );
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size, its peak so far (MB) and open file descriptors of a process, from /proc. */
function usage(pid: number): { rssMb: number; peakMb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const mb = (field: string) =>
    Math.round(Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) / 102.4) / 10;
  return { rssMb: mb("VmRSS"), peakMb: mb("VmHWM"), fds: readdirSync(`/proc/${pid}/fd`).length };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);

async function main(): Promise<void> {
  const [secondsArg, countArg, unitsArg] = process.argv.slice(2);
  const seconds = Number(secondsArg ?? 60);
  const count = Number(countArg ?? 1200);
  const units = Number(unitsArg ?? 50);
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-serve-"));
  const socketPath = path.join(dir, "fleet.sock");
  const fleet = await startFleet(socketPath);
  try {
    const repo = path.join(dir, "repo");
    const services = Object.fromEntries(
      Array.from({ length: units }, (_, i) => [`svc${String(i).padStart(3, "0")}`, { tag: "1-staging" }]),
    );
    await writeFleetRepo(repo, { name: "soak", endpoint: `unix://${socketPath}`, services });
    const secretFile = path.join(dir, "secret");
    await writeFile(secretFile, "soak-secret\n");

    const serve = await startServe([
      "--repo",
      repo,
      "--environment",
      "staging",
      "--schedule",
      "*/2 * * * * *",
      "--webhook-secret-file",
      secretFile,
      "--timeout",
      "30",
    ]);
    const pid = serve.child.pid ?? 0;
    await serve.waitFor((e) => e.event === "run.finished" && e.run === 1, 120_000, "the first run");
    const start = usage(pid);
    const t0 = Date.now();
    // RSS every 5 s during the soak: growth that keeps climbing is a leak, a plateau is the heap settling.
    // The JS heap in use (prom-client's gauge) tells a leak from the allocator keeping freed pages.
    const samples: number[] = [];
    const heap: number[] = [];
    const heapUsedMb = async () => {
      const text = await (await fetch(`${serve.base}/metrics`)).text();
      return Math.round((metric(text, "sysconfig_nodejs_heap_size_used_bytes") ?? NaN) / 1e5) / 10;
    };
    const sampler = setInterval(() => {
      samples.push(usage(pid).rssMb);
      void heapUsedMb().then((mb) => heap.push(mb));
    }, 5000);
    const loaded = await loadProcess([
      `${serve.base}/hooks/reconcile`,
      secretFile,
      String(count),
      String(seconds),
    ]);
    const elapsed = (Date.now() - t0) / 1000;
    // Let the last coalesced run finish before measuring the end.
    await new Promise((r) => setTimeout(r, 3000));
    clearInterval(sampler);
    const end = usage(pid);
    const metrics = await (await fetch(`${serve.base}/metrics`)).text();
    const stopAt = Date.now();
    await serve.stop();
    const stopMs = Date.now() - stopAt;

    const starts = serve.named("run.started").slice(1); // after the first (startup) run
    const byTrigger = (t: string) => starts.filter((e) => (e.reasons as string[]).includes(t)).length;
    const finished = serve.named("run.finished");
    const seconds1 = finished
      .slice(1)
      .map((e) => Number(e.seconds))
      .sort((a, b) => a - b);
    const sorted = [...loaded.latenciesMs].sort((a, b) => a - b);

    // The naive way: one reconcile process per webhook call (no coalescing), timed once.
    const naiveT0 = performance.now();
    const naive = await runCli(["reconcile", "--repo", repo, "--environment", "staging"]);
    const naiveS = (performance.now() - naiveT0) / 1000;

    const lines = [
      `serve soak: ${units} fleet units, schedule every 2 s, ${count} signed webhooks over ${seconds} s from a second process (loopback)`,
      `  soak time                   ${elapsed.toFixed(1)} s`,
      `  runs completed              ${finished.length - 1} after the startup run (${metric(metrics, 'sysconfig_runs_total{result="success"}')} success in total, ` +
        `${metric(metrics, 'sysconfig_runs_total{result="failed"}')} failed); started by schedule ${byTrigger("schedule")}, by webhook ${byTrigger("webhook")}`,
      `  run duration (no-op)        p50 ${(percentile(seconds1, 50) * 1000).toFixed(0)} ms, max ${((seconds1.at(-1) ?? NaN) * 1000).toFixed(0)} ms`,
      `  webhook answers             ${JSON.stringify(loaded.statuses)}`,
      `  webhook latency             p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms`,
      `  serve RSS                   start ${start.rssMb} MB, end ${end.rssMb} MB (${end.rssMb >= start.rssMb ? "+" : ""}${(end.rssMb - start.rssMb).toFixed(1)} MB)`,
      `  serve RSS every 5 s          ${samples.join(", ")} MB`,
      `  serve JS heap used every 5 s ${heap.join(", ")} MB`,
      `  serve open fds              start ${start.fds}, end ${end.fds}`,
      `  SIGTERM to exit             ${stopMs} ms`,
      `  naive: a reconcile process per webhook: ${naiveS.toFixed(2)} s each (exit ${naive.code}) × ${count} = ${(naiveS * count).toFixed(0)} s ` +
        `of back-to-back reconciles (most would be refused by the lock) vs serve's ${finished.length - 1} runs`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    if (serve.stderr().trim() !== "") process.stdout.write(`  serve's stderr:\n${serve.stderr()}`);
  } finally {
    fleet.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

/** One open page: reads /events as the page's script does, and fetches / again when a run finishes. */
function openPage(base: string, counts: { events: number; refreshes: number }): () => void {
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(`${base}/events`, { signal: abort.signal });
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body ?? []) {
      // Split once per chunk (a browser's EventSource costs the page's machine, not serve's: keep the
      // stand-in pages cheap, they share serve's two cores here).
      const messages = (buffered + decoder.decode(chunk as Uint8Array, { stream: true })).split("\n\n");
      buffered = messages.pop() ?? "";
      for (const message of messages) {
        if (!message.startsWith("event:")) continue;
        counts.events += 1;
        if (message.startsWith("event: run.finished")) {
          counts.refreshes += 1;
          void fetch(`${base}/`, { headers: { accept: "text/html" }, signal: abort.signal })
            .then((r) => r.text())
            .catch(() => undefined);
        }
      }
    }
  })().catch(() => undefined);
  return () => abort.abort();
}

async function pagesBench(objects: number, pages: number, rounds: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-pages-"));
  const socketPath = path.join(dir, "fleet.sock");
  const fleet = await startFleet(socketPath);
  try {
    const repo = path.join(dir, "repo");
    const write = (build: number) =>
      writeFleetRepo(repo, {
        name: "pages",
        endpoint: `unix://${socketPath}`,
        services: Object.fromEntries(
          Array.from({ length: objects }, (_, i) => [
            `svc${String(i).padStart(4, "0")}`,
            { tag: `${build}-staging` },
          ]),
        ),
      });
    await write(1);
    const secretFile = path.join(dir, "secret");
    await writeFile(secretFile, "pages-secret\n");
    const serve = await startServe(
      [
        "--repo",
        repo,
        "--environment",
        "staging",
        "--schedule",
        "0 0 1 1 *",
        "--webhook-secret-file",
        secretFile,
        "--timeout",
        "120",
        "--max-delete",
        "0",
      ],
      { nodeFlags: RECONCILER_NODE_FLAGS },
    ); // as the reconciler image's launcher runs serve
    const pid = serve.child.pid ?? 0;
    await serve.waitFor((e) => e.event === "run.finished" && e.run === 1, 600_000, "the first run (creates)");
    const body = "{}";
    const signature = `sha256=${createHmac("sha256", "pages-secret").update(body).digest("hex")}`;
    const results: {
      withPages: boolean;
      seconds: number;
      cpu: number;
      rssMb: number;
      peakMb: number;
      events: number;
    }[] = [];
    let run = 1;
    for (let round = 0; round < rounds * 2; round++) {
      const withPages = round % 2 === 1;
      await write(round + 2);
      const counts = { events: 0, refreshes: 0 };
      const close = withPages ? Array.from({ length: pages }, () => openPage(serve.base, counts)) : [];
      if (withPages) await new Promise((r) => setTimeout(r, 500)); // let the streams connect
      run += 1;
      const cpuBefore = cpuSeconds(pid);
      const res = await fetch(`${serve.base}/hooks/reconcile`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-hub-signature-256": signature,
        },
        body,
      });
      await res.arrayBuffer();
      const finished = await serve.waitFor(
        (e) => e.event === "run.finished" && e.run === run,
        600_000,
        `run ${run}`,
      );
      const cpu = cpuSeconds(pid) - cpuBefore;
      await new Promise((r) => setTimeout(r, 500)); // the pages' refreshes
      results.push({
        withPages,
        seconds: Number(finished.seconds),
        cpu,
        ...(({ rssMb, peakMb }) => ({ rssMb, peakMb }))(usage(pid)),
        events: counts.events,
      });
      close.forEach((c) => c());
      if (finished.result !== "success")
        throw new Error(`run ${run} did not succeed: ${JSON.stringify(finished)}`);
    }
    const pageBytes = (await (await fetch(`${serve.base}/`)).text()).length;
    const peak = usage(pid).peakMb;
    await serve.stop();
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const none = results.filter((r) => !r.withPages);
    const open = results.filter((r) => r.withPages);
    const change = (mean(open.map((r) => r.seconds)) / mean(none.map((r) => r.seconds)) - 1) * 100;
    const cpuChange = (mean(open.map((r) => r.cpu)) / mean(none.map((r) => r.cpu)) - 1) * 100;
    const lines = [
      `serve's web page: runs updating ${objects} fleet units (fake fleetd, own process), ${rounds} runs without pages and ${rounds} with ${pages} open pages, alternating; serve with the image's node flags (${RECONCILER_NODE_FLAGS.join(" ")}); load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
      `  run seconds, no page         ${none.map((r) => r.seconds.toFixed(2)).join(", ")} (mean ${mean(none.map((r) => r.seconds)).toFixed(2)} s)`,
      `  run seconds, ${pages} pages      ${open.map((r) => r.seconds.toFixed(2)).join(", ")} (mean ${mean(open.map((r) => r.seconds)).toFixed(2)} s)`,
      `  duration change             ${change >= 0 ? "+" : ""}${change.toFixed(1)} % (bar: < 5 %)`,
      `  serve's CPU per run         no page ${none.map((r) => r.cpu.toFixed(2)).join(", ")} s; ${pages} pages ${open.map((r) => r.cpu.toFixed(2)).join(", ")} s (${cpuChange >= 0 ? "+" : ""}${cpuChange.toFixed(1)} %: what the pages cost serve itself; the stand-in pages run on the same cores)`,
      `  events each page received   ${open.map((r) => Math.round(r.events / pages)).join(", ")} per run`,
      `  the page (GET /) at the end  ${(pageBytes / 1024).toFixed(0)} KB of HTML`,
      `  serve RSS after each run    no page ${none.map((r) => r.rssMb).join(", ")} MB; ${pages} pages ${open.map((r) => r.rssMb).join(", ")} MB`,
      `  serve peak RSS (VmHWM)      ${peak} MB over all ${results.length + 1} runs, the first (creating every unit) included: ${peak < 150 ? "PASS" : "FAIL"} (bar: < 150 MB)`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    if (serve.stderr().trim() !== "") process.stdout.write(`  serve's stderr:\n${serve.stderr()}`);
  } finally {
    fleet.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "pages") {
  const [, objects = "1000", pages = "20", rounds = "3"] = process.argv.slice(2);
  await pagesBench(Number(objects), Number(pages), Number(rounds));
} else if (process.argv[2] === "--load") {
  const [, url = "", secretFile = "", count = "0", seconds = "0"] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(await load(url, secretFile, Number(count), Number(seconds))));
} else {
  await main();
}
