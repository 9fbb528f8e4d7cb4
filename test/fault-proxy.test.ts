// The fault proxy (test/helpers/fault-proxy.ts) in front of the real kube-apiserver: passes everything
// through untouched, and injects exactly the faults asked for, on exactly the requests asked for.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { ApiException, CoreV1Api } from "@kubernetes/client-node";
import { startFaultProxy, type FaultProxy } from "./helpers/fault-proxy.js";
import { adminToken, kubeRequest, testNamespace } from "./helpers/kube.js";
import { kubeConfigFor } from "./helpers/kube-client-node.js";

describe("fault proxy in front of the real apiserver", () => {
  let proxy: FaultProxy;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  const viaProxy = (method: string, path: string, body?: unknown) =>
    kubeRequest(method, path, { server: proxy.url, body });
  const configMap = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });

  beforeAll(async () => {
    proxy = await startFaultProxy();
    ns = await testNamespace("fault-proxy");
  });
  afterEach(() => {
    proxy.clear();
    proxy.requests.splice(0);
  });
  afterAll(async () => {
    await proxy.close();
    await ns.cleanup();
  });

  it("passes requests through unchanged and logs them", async () => {
    const direct = await kubeRequest("GET", "/version");
    const proxied = await viaProxy("GET", "/version");
    expect({ status: proxied.status, body: proxied.body }).toEqual({
      status: direct.status,
      body: direct.body,
    });
    expect(proxied.headers["content-type"]).toBe(direct.headers["content-type"]);
    expect(proxy.requests).toEqual([{ method: "GET", path: "/version", status: 200 }]);
  });

  it("serves the Kubernetes client through it with the test CA (TLS verified)", async () => {
    const core = kubeConfigFor({ token: adminToken(), server: proxy.url }).makeApiClient(CoreV1Api);
    const list = await core.listNamespace();
    expect(list.items.length).toBeGreaterThan(0);
    expect(proxy.requests[0]?.path).toBe("/api/v1/namespaces");
  });

  it("injects a 503 on the matching request only, the given number of times", async () => {
    proxy.inject({ method: "GET", path: /\/configmaps/, times: 1, fault: { kind: "status", status: 503 } });
    expect((await viaProxy("GET", "/version")).status).toBe(200);
    const failed = await viaProxy("GET", `/api/v1/namespaces/${ns.name}/configmaps`);
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ kind: "Status", code: 503 });
    expect((await viaProxy("GET", `/api/v1/namespaces/${ns.name}/configmaps`)).status).toBe(200);
    expect(proxy.requests.map((r) => r.status)).toEqual([200, 503, 200]);
    expect(proxy.requests[1]?.fault).toBe("status");
  });

  it("surfaces an injected 500 to the Kubernetes client as an ApiException", async () => {
    proxy.inject({ fault: { kind: "status", status: 500, message: "etcd went away" } });
    const core = kubeConfigFor({ token: adminToken(), server: proxy.url }).makeApiClient(CoreV1Api);
    const error = await core.listNamespacedConfigMap({ namespace: ns.name }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).code).toBe(500);
    expect(String((error as ApiException<string>).body)).toMatch(/etcd went away/);
  });

  it("answers 429 with a Retry-After header", async () => {
    proxy.inject({ times: 1, fault: { kind: "status", status: 429, retryAfterSeconds: 2 } });
    const res = await viaProxy("GET", "/version");
    expect(res.status).toBe(429);
    expect(res.headers["retry-after"]).toBe("2");
  });

  it("delays a matching request by the given latency", async () => {
    proxy.inject({ path: /^\/version/, fault: { kind: "delay", ms: 400 } });
    const started = Date.now();
    expect((await viaProxy("GET", "/version")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it("drops a connection before the request reaches the apiserver: nothing is written", async () => {
    proxy.inject({ method: "POST", times: 1, fault: { kind: "drop-request" } });
    await expect(
      viaProxy("POST", `/api/v1/namespaces/${ns.name}/configmaps`, configMap("lost")),
    ).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await kubeRequest("GET", `/api/v1/namespaces/${ns.name}/configmaps/lost`)).status).toBe(404);
  });

  it("drops a connection after the apiserver did the work: the write happened, the client never heard", async () => {
    proxy.inject({ method: "POST", times: 1, fault: { kind: "drop-response" } });
    await expect(
      viaProxy("POST", `/api/v1/namespaces/${ns.name}/configmaps`, configMap("done")),
    ).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await kubeRequest("GET", `/api/v1/namespaces/${ns.name}/configmaps/done`)).status).toBe(200);
    expect(proxy.requests[0]).toMatchObject({ method: "POST", fault: "drop-response" });
    expect(proxy.requests[0]?.status).toBeUndefined();
  });
});
