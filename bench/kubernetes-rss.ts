// Benchmark: the plain CLI (`node dist/cli/main.js reconcile`, a fresh process, as an operator or CI runs
// it without the launcher) against 1,000 Kubernetes objects (500 Deployments + 500 Services) on the real
// kube-apiserver of the services script: peak RSS, wall and CPU time of the no-op, beside the same run
// with the config image's node flag (what the `sysconfig` binary's shebang and the image's launcher pass),
// and, with --baseline MAIN_JS, another build's CLI in turn, in the same conditions. Bar (issue 21): peak
// RSS of the plain CLI < 150 MB; the no-op no slower than before. Then the same runs with every object
// changed (the run whose plan holds 1,000 diffs), which the bar of issue 18 (< 150 MB) also covers.
// (bench/reconcile-kubernetes.ts times the pipeline in a process whose modules are loaded; this one
// times whole CLI processes.)
// Run: bash scripts/services.sh kubernetes && npm run build &&
//      node dist/bench/kubernetes-rss.js [services=500] [runs=3] [--baseline /old/dist/cli/main.js]
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RECONCILER_NODE_FLAGS } from "../cli/images/node-flags.js";
import { BUILD_INFO_FILE } from "../reconciler/desired/build-info.js";
import { adminToken, kube, kubeconfigText } from "../test/helpers/kube.js";
import { settle } from "./kube-settle.js";
import { writeKubeRepo } from "../test/helpers/kube-repo.js";
import { runCli, writeProbe, type Run } from "./cli-probe.js";

const here = fileURLToPath(import.meta.url);
const cli = path.join(path.dirname(here), "../cli/main.js");

function summary(runs: Run[]): string {
  const med = (k: keyof Run) => [...runs].sort((a, b) => a[k] - b[k])[Math.floor(runs.length / 2)]?.[k] ?? 0;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const failed = runs.filter((r) => r.exitCode !== 0).length;
  return (
    `${s(med("wallMs")).padStart(8)} ${s(med("cpuMs")).padStart(8)} ${`${med("rssMb")} MB`.padStart(8)}` +
    `   (peak RSS ${Math.min(...runs.map((r) => r.rssMb))}–${Math.max(...runs.map((r) => r.rssMb))} MB, ` +
    `${runs.length} runs${failed > 0 ? `, ${failed} FAILED` : ""})`
  );
}

async function main(services: number, runs: number, baseline: string | undefined): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-k8s-rss-"));
  const probe = await writeProbe(dir);
  const namespace = `bench-rss-${randomBytes(3).toString("hex")}`;
  await kube("POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  });
  const kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText({ token: adminToken() }));
  const repo = path.join(dir, "repo");
  try {
    /** Every service at `tag`, baked like the config image's /sysconfig/config (how the reconciler runs in a cluster). */
    const bake = async (tag: string): Promise<void> => {
      await writeKubeRepo(repo, {
        system: "benchrss",
        namespace,
        kubeconfig,
        services: Object.fromEntries(
          Array.from({ length: services }, (_, i) => [`svc${String(i).padStart(4, "0")}`, { tag }]),
        ),
      });
      await writeFile(
        path.join(repo, BUILD_INFO_FILE),
        JSON.stringify({
          system: "benchrss",
          environment: "master",
          branch: "master",
          revision: randomBytes(20).toString("hex"),
          source: "bench",
          created: new Date().toISOString(),
        }),
      );
    };
    await bake("1-master");
    const args = ["reconcile", "--repo", repo, "--no-wait"];
    const create = await runCli(probe, [], cli, args);
    if (create.exitCode !== 0) throw new Error(`the creating reconcile exited ${create.exitCode}`);
    await settle(namespace);
    const variants: [string, readonly string[], string][] = [
      ["plain CLI (node dist/cli/main.js)", [], cli],
      ["with the image's node flag (the sysconfig binary)", RECONCILER_NODE_FLAGS, cli],
      ...(baseline
        ? ([
            ["baseline plain CLI", [], baseline],
            ["baseline with the node flag", RECONCILER_NODE_FLAGS, baseline],
          ] as [string, readonly string[], string][])
        : []),
    ];
    const results = variants.map(() => [] as Run[]);
    for (let i = 0; i < runs; i++) {
      for (const [v, [, flags, main]] of variants.entries()) {
        results[v]?.push(await runCli(probe, flags, main, args));
      }
    }
    // All changed: before each run every service gets a new tag (each build in turn, the kubelet played
    // after each run, so that every run starts from a converged system).
    const changed = variants.map(() => [] as Run[]);
    let build = 2;
    for (let i = 0; i < runs; i++) {
      for (const [v, [, flags, main]] of variants.entries()) {
        await bake(`${build++}-master`);
        changed[v]?.push(await runCli(probe, flags, main, args));
        await settle(namespace);
      }
    }
    const lines = [
      `kubernetes-rss: ${services * 2} objects (${services} Deployments + ${services} Services), real apiserver; ` +
        `fresh CLI processes, median of ${runs}; load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(" ")} on ${os.availableParallelism()} cores`,
      "",
      `${"reconcile with nothing to change".padEnd(56)} ${"wall".padStart(8)} ${"CPU".padStart(8)} ${"peakRSS".padStart(8)}`,
      `${"create (plain CLI, not compared)".padEnd(56)} ${summary([create])}`,
      ...variants.map(([label], v) => `${label.padEnd(56)} ${summary(results[v] ?? [])}`),
      `  → peak RSS of the plain CLI < 150 MB: ${Math.max(...(results[0] ?? []).map((r) => r.rssMb)) < 150 ? "PASS" : "FAIL"}`,
      "",
      `${"reconcile --no-wait, every object changed".padEnd(56)} ${"wall".padStart(8)} ${"CPU".padStart(8)} ${"peakRSS".padStart(8)}`,
      ...variants.map(([label], v) => `${label.padEnd(56)} ${summary(changed[v] ?? [])}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await kube("DELETE", `/api/v1/namespaces/${namespace}`).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
const at = argv.indexOf("--baseline");
const baseline = at >= 0 ? argv[at + 1] : undefined;
const positional = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
await main(Number(positional[0] ?? 500), Number(positional[1] ?? 3), baseline);
