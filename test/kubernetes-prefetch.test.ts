// The Kubernetes target's reads start while the desired state is rendered (Target.prefetchActual): the
// inventory and one list per collection in it are in flight before the render is done, the first read
// uses them instead of listing again, and a config error abandons them cleanly (exit 3, nothing written,
// nothing unhandled). Through a loopback proxy in front of the real apiserver, which records each request
// as it arrives and holds the Deployment list back.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { appendFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TargetConfig } from "../reconciler/config/schema.js";
import { InvalidInputError } from "../reconciler/errors.js";
import { runReconcile, type ReconcileRequest } from "../reconciler/pipeline/reconcile.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createKubernetesTarget } from "../reconciler/targets/kubernetes/target.js";
import { startFaultProxy, type FaultProxy } from "./helpers/fault-proxy.js";
import { adminToken, kubeconfigText, settleDeployments, testNamespace } from "./helpers/kube.js";
import { kubeReconcile, writeKubeRepo } from "./helpers/kube-repo.js";
import { tempDir } from "./helpers/tmp.js";

let proxy: FaultProxy;
let ns: { name: string; cleanup: () => Promise<void> };
let tmp: { dir: string; cleanup: () => Promise<void> };
let repo: string;

const deploymentList = /^\/apis\/apps\/v1\/namespaces\/[^/]+\/deployments\?/;
const seen = () => proxy.requests.map((r) => `${r.method} ${r.path}`);

beforeAll(async () => {
  proxy = await startFaultProxy();
});
afterAll(async () => {
  await proxy.close();
});
beforeEach(async () => {
  ns = await testNamespace("k8s-prefetch");
  tmp = await tempDir("sysconfig-k8s-prefetch-");
  const kubeconfig = path.join(tmp.dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText({ token: adminToken(), server: proxy.url }));
  repo = path.join(tmp.dir, "repo");
  await writeKubeRepo(repo, { namespace: ns.name, kubeconfig, services: { web: {}, api: {} } });
  const created = await kubeReconcile(repo);
  expect(created.error).toBeUndefined();
  await settleDeployments(ns.name);
  proxy.clear();
  proxy.requests.length = 0;
});
afterEach(async () => {
  proxy.clear();
  await ns.cleanup();
  await tmp.cleanup();
});

const request = (planOnly: boolean): ReconcileRequest => ({
  repo,
  environment: "master",
  planOnly,
  guard: { allowMassDelete: false },
  wait: false,
  timeoutSeconds: 20,
  waitLock: false,
  lockOwner: "jest",
});

/**
 * runReconcile with the real target, noting which requests had reached the proxy before the target's
 * first step after the render (prepare), that is before the pipeline itself read anything.
 */
async function run(planOnly: boolean): Promise<{ error?: unknown; atPrepare?: string[]; ms: number }> {
  const out: { error?: unknown; atPrepare?: string[]; ms: number } = { ms: 0 };
  const started = Date.now();
  try {
    await runReconcile(request(planOnly), {
      createTarget: async (config: TargetConfig, options) => {
        if (config.kind !== "kubernetes") throw new Error(`expected kubernetes, got ${config.kind}`);
        const target = await createKubernetesTarget(config, options);
        const prepare = target.prepare?.bind(target);
        target.prepare = async (state) => {
          // The render is done and nothing has read yet: give early reads up to 3 s to show up.
          const until = Date.now() + 3000;
          while (!seen().some((r) => deploymentList.test(r.slice(4))) && Date.now() < until) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          out.atPrepare = seen();
          await prepare?.(state);
        };
        return target;
      },
      reporter: silentReporter,
      env: { ...process.env, KUBERNETES_SERVICE_HOST: "" },
    });
  } catch (error) {
    out.error = error;
  }
  out.ms = Date.now() - started;
  return out;
}

describe("kubernetes reads overlapped with rendering", () => {
  it("lists the inventory's kinds before the render is done, and the no-op plan uses those lists", async () => {
    proxy.inject({ method: "GET", path: deploymentList, times: 1, fault: { kind: "delay", ms: 1500 } });
    const plan = await run(true);
    expect(plan.error).toBeUndefined();
    // In flight while rendering: the inventory (the Lease) and the Deployment list.
    expect(plan.atPrepare?.some((r) => r.startsWith("GET ") && /\/leases\//.test(r))).toBe(true);
    expect(plan.atPrepare?.some((r) => deploymentList.test(r.slice(4)))).toBe(true);
    // Listed once: the prefetched list is the one the plan read.
    expect(seen().filter((r) => deploymentList.test(r.slice(4)))).toHaveLength(1);
    expect(plan.ms).toBeGreaterThanOrEqual(1500);
  });

  it("reads afresh under the lock: a reconcile with a change lists again after taking the lock", async () => {
    await writeKubeRepo(repo, {
      namespace: ns.name,
      kubeconfig: path.join(tmp.dir, "kubeconfig"),
      services: { web: { tag: "2-develop" }, api: {} },
    });
    const applied = await run(false);
    expect(applied.error).toBeUndefined();
    const lists = seen().filter((r) => deploymentList.test(r.slice(4)));
    expect(lists.length).toBeGreaterThanOrEqual(2); // the early read, and the one under the lock
    const lockAt = seen().findIndex((r) => /^(PUT|POST|PATCH) .*\/leases\b/.test(r));
    expect(lockAt).toBeGreaterThan(0);
    expect(
      seen()
        .slice(lockAt)
        .some((r) => deploymentList.test(r.slice(4))),
    ).toBe(true);
  });

  it("a stale rendered/ exits 3 while the lists are in flight, abandons them without an unhandled rejection, and writes nothing", async () => {
    await appendFile(path.join(repo, "rendered", "web.yaml"), "# edited by hand\n");
    proxy.inject({ method: "GET", path: deploymentList, fault: { kind: "delay", ms: 4000 } });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const failed = await run(false);
      expect(failed.error).toBeInstanceOf(InvalidInputError);
      expect((failed.error as Error).message).toMatch(/rendered\/web\.yaml \(stale\)/);
      expect(failed.ms).toBeLessThan(3500); // did not wait for the abandoned lists
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
      expect(seen().filter((r) => !r.startsWith("GET "))).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
