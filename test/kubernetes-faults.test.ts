// Retries and timeouts of the kubernetes target, with faults injected by a loopback proxy in front of
// the real apiserver (test/helpers/fault-proxy.ts): no fake API server.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { RuntimeFailureError } from "../reconciler/errors.js";
import { startFaultProxy, type FaultProxy } from "./helpers/fault-proxy.js";
import { adminToken, kube, kubeconfigText, settleDeployments, testNamespace } from "./helpers/kube.js";
import { kubeReconcile, writeKubeRepo } from "./helpers/kube-repo.js";
import { tempDir } from "./helpers/tmp.js";

let proxy: FaultProxy;
let ns: { name: string; cleanup: () => Promise<void> };
let tmp: { dir: string; cleanup: () => Promise<void> };
let repo: string;

beforeAll(async () => {
  proxy = await startFaultProxy();
});
afterAll(async () => {
  await proxy.close();
});
beforeEach(async () => {
  ns = await testNamespace("k8s-faults");
  tmp = await tempDir("sysconfig-k8s-faults-");
  const kubeconfig = path.join(tmp.dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText({ token: adminToken(), server: proxy.url }));
  repo = path.join(tmp.dir, "repo");
  await writeKubeRepo(repo, { namespace: ns.name, kubeconfig, services: { web: {} } });
  proxy.clear();
  proxy.requests.length = 0;
});
afterEach(async () => {
  proxy.clear();
  await ns.cleanup();
  await tmp.cleanup();
});

const fast = { client: { backoffMs: 20, timeoutMs: 2_000 } };
const toDeployments = /\/apis\/apps\/v1\/namespaces\/[^/]+\/deployments/;

describe("kubernetes target retries through a faulty network", () => {
  it("honours Retry-After on a 429 and then succeeds", async () => {
    proxy.inject({
      method: "GET",
      path: toDeployments,
      times: 1,
      fault: { kind: "status", status: 429, retryAfterSeconds: 1 },
    });
    const started = Date.now();
    const run = await kubeReconcile(repo, { planOnly: true }, { tuning: fast });
    expect(run.error).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const lists = proxy.requests.filter((r) => r.method === "GET" && toDeployments.test(r.path));
    expect(lists.map((r) => r.status)).toEqual([429, 200]);
  });

  it("retries 5xx answers and dropped connections, and applies exactly once", async () => {
    proxy.inject({ method: "PATCH", path: toDeployments, times: 2, fault: { kind: "status", status: 503 } });
    proxy.inject({ method: "GET", path: /services/, times: 1, fault: { kind: "drop-request" } });
    const run = await kubeReconcile(repo, {}, { tuning: fast });
    expect(run.error).toBeUndefined();
    const patches = proxy.requests.filter((r) => r.method === "PATCH" && toDeployments.test(r.path));
    expect(patches.map((r) => r.status)).toEqual([503, 503, 201]);
    const live = await kube<{ items: unknown[] }>("GET", `/apis/apps/v1/namespaces/${ns.name}/deployments`);
    expect(live.items).toHaveLength(1);
  });

  it("converges after a response is lost once the apiserver did the work", async () => {
    proxy.inject({ method: "PATCH", path: toDeployments, times: 1, fault: { kind: "drop-response" } });
    const run = await kubeReconcile(repo, {}, { tuning: fast });
    expect(run.error).toBeUndefined();
    await settleDeployments(ns.name);
    const plan = await kubeReconcile(repo, { planOnly: true }, { tuning: fast });
    expect(plan.outcome?.changeSet.changes.every((c) => c.action === "unchanged")).toBe(true);
  });

  it("gives up on a server that stays down, naming the request, and does not retry a 403", async () => {
    proxy.inject({ method: "GET", path: toDeployments, fault: { kind: "status", status: 503 } });
    const down = await kubeReconcile(
      repo,
      { planOnly: true },
      { tuning: { client: { backoffMs: 5, retries: 3 } } },
    );
    expect(down.error).toBeInstanceOf(RuntimeFailureError);
    expect((down.error as Error).message).toMatch(
      /kubernetes GET \/apis\/apps\/v1\/namespaces\/.*\/deployments failed: HTTP 503/,
    );
    expect(proxy.requests.filter((r) => toDeployments.test(r.path))).toHaveLength(4);

    proxy.clear();
    proxy.requests.length = 0;
    proxy.inject({ method: "GET", path: toDeployments, fault: { kind: "status", status: 403 } });
    const forbidden = await kubeReconcile(repo, { planOnly: true }, { tuning: fast });
    expect((forbidden.error as Error).message).toMatch(/HTTP 403.*RBAC/);
    expect(proxy.requests.filter((r) => toDeployments.test(r.path))).toHaveLength(1);
  });

  it("times out a request that hangs once, says the bound, and does not send it again", async () => {
    proxy.inject({ method: "GET", path: toDeployments, times: 1, fault: { kind: "delay", ms: 5_000 } });
    const run = await kubeReconcile(
      repo,
      { planOnly: true },
      { tuning: { client: { backoffMs: 20, timeoutMs: 500 } } },
    );
    expect((run.error as Error).message).toMatch(
      /no answer from the Kubernetes API at https:\/\/\S+ within 0\.5 s; if it is only slow, raise --request-timeout/,
    );
    expect(proxy.requests.filter((r) => toDeployments.test(r.path))).toHaveLength(1);
  });
});
