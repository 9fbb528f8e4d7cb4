// Benchmark: reconcile 1,000 Kubernetes objects (500 Deployments + 500 Services) on the real
// kube-apiserver 1.20.2 of the services script — create, no-op, all changed — side by side with the
// one-object-at-a-time way a `kubectl apply --server-side` loop takes: a GET and a server-side apply
// PATCH per object, sequentially. Every run is a fresh process, so peak RSS is that run's alone.
// Bars (DESIGN §10): no-op < 2 s with O(kinds) requests; all changed ≥ 5× faster than one at a time;
// peak RSS < 150 MB.
// Mixed system (`mixed [services]`): each service a Deployment, a Service, an HPA and a PDB (a PDB names
// policy/v1 with policy/v1beta1 as fallback, resolved by discovery), plus ten kinds from CRDs created in the
// same run, side by side with `kubectl apply --server-side` of the same manifests (kubectl from PATH, or
// the KUBECTL environment variable), its requests counted from its `-v=6` log.
// Every run is its own system (`bench<id>`) in its own namespace, so a run never sees another's objects
// (cluster-scoped CRDs included), and removes them on exit, on failure and on SIGINT/SIGTERM/SIGHUP.
// Run: bash scripts/services.sh kubernetes && npm run build &&
//      node_modules/.bin/node dist/bench/reconcile-kubernetes.js [services]
//      node_modules/.bin/node dist/bench/reconcile-kubernetes.js mixed [services]
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RECONCILER_NODE_FLAGS } from "../cli/images/node-flags.js";
import { RuntimeFailureError } from "../reconciler/errors.js";
import { formatPlanText } from "../reconciler/plan/text.js";
import { runReconcile, type ReconcileOutcome } from "../reconciler/pipeline/reconcile.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { loadDesiredState } from "../reconciler/desired/load.js";
import { BUILD_INFO_FILE } from "../reconciler/desired/build-info.js";
import { objectPath } from "../reconciler/targets/kubernetes/kinds.js";
import {
  kubernetesDesiredObjects,
  type KubernetesDesiredSpec,
} from "../reconciler/targets/kubernetes/desired.js";
import { createKubernetesTarget, type KubernetesTarget } from "../reconciler/targets/kubernetes/target.js";
import { adminToken, KUBE, kube, kubeconfigText, kubeRequest } from "../test/helpers/kube.js";
import { settle } from "./kube-settle.js";
import { writeKubeRepo } from "../test/helpers/kube-repo.js";

const here = fileURLToPath(import.meta.url);

interface RunResult {
  ms: number;
  requests: number;
  counts: Record<string, number>;
  /** Requests by verb and resource (`list deployments`): the O(kinds) claim, visible. */
  byResource?: Record<string, number>;
  rssMb: number;
  /** CPU time (user + system) of the whole child process: on a loaded machine, the comparable figure. */
  cpuMs?: number;
  note: string;
}

const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return Math.round((user + system) / 1000);
};

/** Child: one `sysconfig plan` or `reconcile --no-wait` of REPO through the pipeline. */
async function sysconfigRun(repo: string, mode: string): Promise<RunResult> {
  let target: KubernetesTarget | undefined;
  let outcome: ReconcileOutcome | undefined;
  let failure = "";
  const started = performance.now();
  await runReconcile(
    {
      repo,
      environment: "master",
      planOnly: mode === "plan",
      guard: { allowMassDelete: false },
      wait: false,
      timeoutSeconds: 120,
      waitLock: false,
      lockOwner: "bench",
      parallelism: 16,
    },
    {
      createTarget: async (config, options) => {
        if (config.kind !== "kubernetes") throw new Error("expected the kubernetes target");
        target = await createKubernetesTarget(config, options);
        return target;
      },
      // There is no kubelet: a Deployment created or changed is unavailable, so a --no-wait run that
      // applied everything still ends "unhealthy (not waited for)" (exit 1). Its timing is what counts.
      onPlan: (planned) => {
        outcome ??= planned;
        // The plan text the CLI prints (diffs included) is built, as `sysconfig reconcile` builds it.
        formatPlanText(planned.changeSet, { color: false });
      },
      onResult: (result) => {
        outcome = result;
      },
      reporter: silentReporter,
      env: { ...process.env, KUBERNETES_SERVICE_HOST: "" },
    },
  ).catch((error: unknown) => {
    if (!(error instanceof RuntimeFailureError) || !/not waited for/.test(error.message)) throw error;
    failure = " (Deployments unavailable: no kubelet, not waited for)";
  });
  const ms = performance.now() - started;
  if (outcome === undefined) throw new Error("the run produced no outcome");
  const count = (values: string[]) =>
    Object.entries(values.reduce<Record<string, number>>((a, v) => ({ ...a, [v]: (a[v] ?? 0) + 1 }), {}))
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
  const results = outcome.results ?? [];
  return {
    ms,
    requests: target?.client.requests ?? 0,
    counts: target?.client.counts ?? {},
    byResource: target?.client.countsByResource ?? {},
    rssMb: rss(),
    cpuMs: cpu(),
    note:
      (results.length > 0
        ? count(results.map((r) => r.status))
        : count(outcome.changeSet.changes.map((c) => c.action))) + failure,
  };
}

/** Child: the `kubectl apply --server-side` loop over REPO's rendered/ — GET + apply PATCH per object. */
async function naiveRun(repo: string): Promise<RunResult> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: await readFile(KUBE.caFile) });
  const token = adminToken();
  let requests = 0;
  const call = (method: string, p: string, body?: unknown) =>
    new Promise<number>((resolve, reject) => {
      requests++;
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        accept: "application/json",
      };
      if (payload !== undefined) headers["content-type"] = "application/apply-patch+yaml";
      const req = https.request(new URL(p, KUBE.server), { agent, method, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end(payload);
    });
  // The same manifests sysconfig applies (owner labels, hash), under the same field manager.
  const state = await loadDesiredState(repo, { environment: "master" });
  const manifests = kubernetesDesiredObjects(state).map((o) => o.spec as KubernetesDesiredSpec);
  const started = performance.now();
  let applied = 0;
  for (const { kind, namespace, name, manifest } of manifests) {
    const p = objectPath(kind, namespace, name);
    await call("GET", p);
    const status = await call("PATCH", `${p}?fieldManager=sysconfig&force=false`, manifest);
    if (status >= 300) throw new Error(`naive apply of ${p}: HTTP ${status}`);
    applied++;
  }
  agent.destroy();
  return {
    ms: performance.now() - started,
    requests,
    counts: { GET: applied, PATCH: applied },
    rssMb: rss(),
    note: `${applied} applied`,
  };
}

/** What a run created, removed on exit, on failure and on a signal (newest first). */
const cleanups: (() => Promise<unknown>)[] = [];
const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const proc of children) proc.kill("SIGTERM");
    for (const step of cleanups.reverse()) {
      await step().catch((error: unknown) =>
        process.stderr.write(`bench: cleanup step failed: ${String(error)}\n`),
      );
    }
  })();
  return cleaning;
}

function cleanUpOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}: removing this run's namespace and cluster-scoped objects…\n`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
}

/**
 * A system and namespace of this run's own, removed at the end: the namespace (and everything in it, the
 * Lease too) and every cluster-scoped object the system owns (its CRDs), found by the owner label.
 */
async function benchScope(prefix: string): Promise<{ id: string; system: string; namespace: string }> {
  const id = randomBytes(3).toString("hex");
  const system = `bench${id}`;
  const namespace = `${prefix}-${id}`;
  cleanUpOnSignals();
  cleanups.push(async () => {
    await kubeRequest(
      "DELETE",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions?labelSelector=${encodeURIComponent(
        `sysconfig.io/system=${system}`,
      )}`,
    );
    await kubeRequest("DELETE", `/api/v1/namespaces/${namespace}`);
  });
  await kube("POST", "/api/v1/namespaces", {
    body: {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { "sysconfig.io/bench": system } },
    },
  });
  process.stderr.write(
    `bench: system ${system} in namespace ${namespace}; removed on exit (after a kill -9: ` +
      `kubectl delete namespace ${namespace}; kubectl delete crd -l sysconfig.io/system=${system})\n`,
  );
  return { id, system, namespace };
}

/** Requests by resource, as `list deployments 1, …`, for the table. */
function perResource(r: RunResult): string {
  return Object.entries(r.byResource ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

/** A child run: sysconfig's runs with the reconciler image's V8 flags (as its launcher starts it). */
function child(args: string[]): Promise<RunResult> {
  // SYSCONFIG_BENCH_CPU_PROF=DIR: a V8 CPU profile of each sysconfig run, written to DIR (see docs/performance.md).
  const profile = process.env.SYSCONFIG_BENCH_CPU_PROF;
  const flags =
    args[0] === "--sysconfig"
      ? [...RECONCILER_NODE_FLAGS, ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [])]
      : [];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...flags, here, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    children.add(proc);
    proc.once("exit", () => children.delete(proc));
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.once("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as RunResult)
        : reject(new Error(`${args.join(" ")} exited ${code}`)),
    );
  });
}

/** A new build info in REPO, baked like the config image's /sysconfig/config (how the reconciler runs in a cluster). */
function bakeBuildInfo(repo: string, system: string): Promise<void> {
  return writeFile(
    path.join(repo, BUILD_INFO_FILE),
    JSON.stringify({
      system,
      environment: "master",
      branch: "master",
      revision: randomBytes(20).toString("hex"),
      source: "bench",
      created: new Date().toISOString(),
    }),
  );
}

async function main(services: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-k8s-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const { system, namespace } = await benchScope("bench");
  const kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText({ token: adminToken() }));
  const repo = path.join(dir, "repo");
  const bake = () => bakeBuildInfo(repo, system);
  const write = (tag: string) =>
    writeKubeRepo(repo, {
      system,
      namespace,
      kubeconfig,
      services: Object.fromEntries(
        Array.from({ length: services }, (_, i) => [`svc${String(i).padStart(4, "0")}`, { tag }]),
      ),
    });
  try {
    await write("1-master");
    await bake();
    const create = await child(["--sysconfig", repo, "no-wait"]);
    await settle(namespace);
    const plan = await child(["--sysconfig", repo, "plan"]);
    const noop = await child(["--sysconfig", repo, "no-wait"]);
    const naiveNoop = await child(["--naive", repo]);
    await settle(namespace);
    await write("2-master");
    await bake();
    const changed = await child(["--sysconfig", repo, "no-wait"]);
    await settle(namespace);
    await write("3-master");
    await bake();
    const naiveChanged = await child(["--naive", repo]);

    const counts = (r: RunResult) =>
      Object.entries(r.counts)
        .sort()
        .map(([k, n]) => `${n} ${k}`)
        .join(" + ");
    const row = (label: string, r: RunResult, extra = "") =>
      `${label.padEnd(46)} ${`${Math.round(r.ms)} ms`.padStart(9)} ${String(r.requests).padStart(8)} ` +
      `${`${r.rssMb} MB`.padStart(7)}  ${r.note} [${counts(r)}]${extra}`;
    const lines = [
      `${services * 2} objects (${services} Deployments + ${services} Services) on kube-apiserver v1.20.2 (loopback):`,
      `${"".padEnd(46)} ${"wall".padStart(9)} ${"requests".padStart(8)} ${"peakRSS".padStart(7)}  notes [requests by kind]`,
      row("sysconfig reconcile (create all)", create),
      row("sysconfig plan, nothing changed", plan),
      row("sysconfig reconcile, nothing changed", noop, " (no lock: nothing to write)"),
      row(
        "one at a time: GET + SSA PATCH each, no-op",
        naiveNoop,
        ` — ${(naiveNoop.ms / noop.ms).toFixed(1)}× sysconfig's time`,
      ),
      row("sysconfig reconcile --no-wait, all changed", changed),
      row(
        "one at a time: GET + SSA PATCH each, changed",
        naiveChanged,
        ` — ${(naiveChanged.ms / changed.ms).toFixed(1)}× sysconfig's time`,
      ),
      "",
      `requests of the no-op by resource: ${perResource(noop)}`,
      `machine: ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} at the end (shared: other developers' builds and tests run beside it)`,
      "",
      `bars: no-op < 2 s: ${noop.ms < 2000 ? "PASS" : "FAIL"} (${Math.round(noop.ms)} ms, ${noop.requests} requests for 2 kinds); ` +
        `all changed ≥ 5× faster: ${naiveChanged.ms / changed.ms >= 5 ? "PASS" : "FAIL"} (${(naiveChanged.ms / changed.ms).toFixed(1)}×); ` +
        `peak RSS < 150 MB: ${Math.max(create.rssMb, plan.rssMb, noop.rssMb, changed.rssMb) < 150 ? "PASS" : "FAIL"} ` +
        `(${Math.max(create.rssMb, plan.rssMb, noop.rssMb, changed.rssMb)} MB)`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await cleanUp();
  }
}

/** A service of the mixed system: Deployment, Service, HPA, PDB, each carrying the tag (all change on a bump). */
const MIXED_TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata: { name: {{json service.name}} }
spec:
  replicas: 1
  selector: { matchLabels: { app: {{json service.name}} } }
  template:
    metadata: { labels: { app: {{json service.name}} } }
    spec:
      containers:
        - { name: app, image: {{json service.imageRef}}, ports: [{ containerPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: {{json service.name}}, annotations: { bench/tag: {{json service.tag}} } }
spec:
  selector: { app: {{json service.name}} }
  ports: [{ port: 8080, targetPort: 8080, protocol: TCP }]
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: { name: {{json service.name}}, annotations: { bench/tag: {{json service.tag}} } }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: {{json service.name}} }
  minReplicas: 1
  maxReplicas: 3
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{json service.name}}
  annotations: { sysconfig.io/fallback-api-versions: policy/v1beta1, bench/tag: {{json service.tag}} }
spec:
  minAvailable: 1
  selector: { matchLabels: { app: {{json service.name}} } }
`;

/** Ten CRDs in one group and one object of each: the custom kinds of the mixed system. */
function customKinds(group: string): string {
  const docs: string[] = [];
  for (let i = 0; i < 10; i++) {
    docs.push(
      `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: widget${i}s.${group} }\n` +
        `spec:\n  group: ${group}\n  scope: Namespaced\n  names: { kind: Widget${i}, plural: widget${i}s }\n` +
        `  versions:\n    - name: v1\n      served: true\n      storage: true\n` +
        `      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }\n`,
      `apiVersion: ${group}/v1\nkind: Widget${i}\nmetadata: { name: w }\nspec: { size: {{json service.tag}} }\n`,
    );
  }
  return docs.join("---\n");
}

/** Child: `kubectl apply --server-side` of the manifests sysconfig would apply (resolved the same way). */
async function kubectlRun(repo: string): Promise<RunResult> {
  const state = await loadDesiredState(repo, { environment: "master" });
  if (state.target.kind !== "kubernetes") throw new Error("expected the kubernetes target");
  const target = await createKubernetesTarget(state.target, {
    environment: "master",
    reporter: silentReporter,
    env: process.env,
  });
  await target.prepare?.(state);
  const items = target.desiredObjects(state).map((o) => (o.spec as KubernetesDesiredSpec).manifest);
  await target.close();
  const file = path.join(repo, "kubectl-all.json");
  await writeFile(file, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
  const started = performance.now();
  // -v=6 logs one line per request (`PATCH https://… 200 OK in 3 milliseconds`): counted, not shown.
  const log = await new Promise<string>((resolve, reject) => {
    const proc = spawn(
      kubectlCommand(),
      ["apply", "--server-side", "--field-manager=sysconfig", "-v=6", "-f", file],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, KUBECONFIG: KUBE.kubeconfig } },
    );
    let text = "";
    proc.stderr.on("data", (d: Buffer) => (text += d.toString()));
    proc.once("error", reject);
    proc.once("exit", (code) =>
      code === 0 ? resolve(text) : reject(new Error(`kubectl exited ${code}: ${text.slice(-2000)}`)),
    );
  });
  const ms = performance.now() - started;
  const counts: Record<string, number> = {};
  let requests = 0;
  for (const [, verb] of log.matchAll(/\] (GET|PATCH|POST|PUT|DELETE) https?:\/\//g)) {
    requests++;
    counts[verb ?? "?"] = (counts[verb ?? "?"] ?? 0) + 1;
  }
  return { ms, requests, counts, rssMb: 0, note: `${items.length} applied by kubectl` };
}

/** kubectl for the comparison: $KUBECTL or `kubectl` on PATH; a clear stop before anything is created. */
function kubectlCommand(): string {
  const command = process.env.KUBECTL ?? "kubectl";
  const probe = spawnSync(command, ["version", "--client"], { encoding: "utf8" });
  if (probe.status !== 0) {
    throw new Error(
      `bench: the mixed benchmark compares with \`kubectl apply --server-side\`, but ${command} does not run ` +
        `(${probe.error?.message ?? probe.stderr.trim()}). Put kubectl on PATH or set KUBECTL=/path/to/kubectl.`,
    );
  }
  return command;
}

async function mixed(services: number): Promise<void> {
  kubectlCommand();
  const dir = await mkdtemp(path.join(os.tmpdir(), "sysconfig-bench-k8s-mixed-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const { id, system, namespace } = await benchScope("bench-mixed");
  const group = `b${id}.bench.example.com`;
  const kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText({ token: adminToken() }));
  const repo = path.join(dir, "repo");
  const bake = () => bakeBuildInfo(repo, system);
  const write = async (tag: string) => {
    await writeKubeRepo(repo, {
      system,
      namespace,
      kubeconfig,
      services: {
        custom: { tag, template: customKinds(group) },
        ...Object.fromEntries(
          Array.from({ length: services }, (_, i) => [
            `svc${String(i).padStart(4, "0")}`,
            { tag, template: MIXED_TEMPLATE },
          ]),
        ),
      },
    });
    await bake();
  };
  try {
    await write("1-master");
    const create = await child(["--sysconfig", repo, "no-wait"]);
    await settle(namespace);
    const plan = await child(["--sysconfig", repo, "plan"]);
    const noop = await child(["--sysconfig", repo, "no-wait"]);
    await write("2-master");
    const changed = await child(["--sysconfig", repo, "no-wait"]);
    await settle(namespace);
    await write("3-master");
    const kubectl = await child(["--kubectl", repo]);
    await settle(namespace);
    const objects = services * 4 + 20;
    const counts = (r: RunResult) =>
      Object.entries(r.counts)
        .sort()
        .map(([k, n]) => `${n} ${k}`)
        .join(" + ");
    const row = (label: string, r: RunResult, extra = "") =>
      `${label.padEnd(46)} ${`${Math.round(r.ms)} ms`.padStart(9)} ${(r.cpuMs === undefined ? "—" : `${r.cpuMs} ms`).padStart(9)} ` +
      `${String(r.requests).padStart(8)} ${(r.rssMb > 0 ? `${r.rssMb} MB` : "—").padStart(7)}  ${r.note} [${counts(r)}]${extra}`;
    const kinds = 4 + 10 + 1;
    const ratio = kubectl.ms / changed.ms;
    const peak = Math.max(create.rssMb, plan.rssMb, noop.rssMb, changed.rssMb);
    const lines = [
      `${objects} objects (${services} × Deployment + Service + HPA + PDB, 10 CRDs and one object of each) on kube-apiserver v1.20.2:`,
      `${"".padEnd(46)} ${"wall".padStart(9)} ${"CPU".padStart(9)} ${"requests".padStart(8)} ${"peakRSS".padStart(7)}  notes [requests by verb]`,
      row("sysconfig reconcile --no-wait (create all)", create),
      row("sysconfig plan, nothing changed", plan),
      row("sysconfig reconcile, nothing changed", noop),
      row("sysconfig reconcile --no-wait, all changed", changed),
      row("kubectl apply --server-side, all changed", kubectl, ` — ${ratio.toFixed(1)}× sysconfig's time`),
      "",
      `requests of the no-op by resource: ${perResource(noop)}`,
      `requests of the plan by resource:  ${perResource(plan)}`,
      `requests of all changed by resource: ${perResource(changed)}`,
      `machine: ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} at the end (shared: other developers' builds and tests run beside it)`,
      "",
      `bars: no-op < 2 s: ${noop.ms < 2000 ? "PASS" : "FAIL"} (${Math.round(noop.ms)} ms, ${noop.requests} requests for ${kinds} kinds, ` +
        `${objects} objects); all changed ≥ 5× faster than kubectl: ${ratio >= 5 ? "PASS" : "FAIL"} (${ratio.toFixed(1)}×); ` +
        `peak RSS < 150 MB: ${peak < 150 ? "PASS" : "FAIL"} (${peak} MB)`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await cleanUp();
  }
}

const args = process.argv.slice(2);
if (args[0] === "--kubectl") {
  process.stdout.write(`${JSON.stringify(await kubectlRun(args[1] ?? ""))}\n`);
} else if (args[0] === "mixed") {
  await mixed(Number(args[1] ?? 500));
} else if (args[0] === "--sysconfig") {
  process.stdout.write(`${JSON.stringify(await sysconfigRun(args[1] ?? "", args[2] ?? "no-wait"))}\n`);
} else if (args[0] === "--naive") {
  process.stdout.write(`${JSON.stringify(await naiveRun(args[1] ?? ""))}\n`);
} else {
  await main(Number(args[0] ?? 500));
}
