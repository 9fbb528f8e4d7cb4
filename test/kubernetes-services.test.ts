// The real Kubernetes control plane started by scripts/kubernetes.sh works the way the Kubernetes target
// and its tests rely on: TLS with the test CA, tokens, RBAC, writes of apps/v1 objects, the
// controller-manager's ReplicaSets and service-account tokens, status subresources, server-side apply.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { ApiException, AppsV1Api, CoreV1Api, type V1Deployment } from "@kubernetes/client-node";
import {
  KUBE,
  kube,
  kubeRequest,
  completeRollout,
  serviceAccountToken,
  testNamespace,
  until,
  writeWorkloadStatus,
} from "./helpers/kube.js";
import { adminKubeConfig, kubeConfigFor } from "./helpers/kube-client-node.js";
import { tempDir } from "./helpers/tmp.js";

function deployment(name: string, replicas: number): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name, image: "127.0.0.1:5000/acme/web:1", ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  };
}

describe("kubernetes control plane (scripts/kubernetes.sh)", () => {
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  beforeAll(async () => {
    ns = await testNamespace("services");
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  it("serves v1.20.2 over TLS signed by the test CA, ready, with the admin token", async () => {
    expect((await kubeRequest("GET", "/readyz")).body).toBe("ok");
    const version = await kube<{ gitVersion: string }>("GET", "/version");
    expect(version.gitVersion).toBe(KUBE.version);
    const kc = adminKubeConfig();
    expect(kc.getCurrentCluster()?.server).toBe(KUBE.server);
    const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(["default", "kube-system"]),
    );
  });

  it("refuses a request without a valid token (401)", async () => {
    expect((await kubeRequest("GET", "/api/v1/namespaces", { token: "not-a-token" })).status).toBe(401);
  });

  it("enforces RBAC: a service account may list ConfigMaps only once a RoleBinding grants it", async () => {
    const sa = await serviceAccountToken(ns.name, "reader");
    expect(sa.caCrt).toBe(readFileSync(KUBE.caFile, "utf8"));
    const core = kubeConfigFor({ token: sa.token, namespace: ns.name }).makeApiClient(CoreV1Api);
    const denied = await core.listNamespacedConfigMap({ namespace: ns.name }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ApiException);
    expect((denied as ApiException<unknown>).code).toBe(403);

    await kube("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/roles`, {
      body: {
        metadata: { name: "read-configmaps" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
    await kube("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings`, {
      body: {
        metadata: { name: "reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-configmaps" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns.name }],
      },
    });
    await kube("POST", `/api/v1/namespaces/${ns.name}/configmaps`, {
      body: { metadata: { name: "visible" } },
    });
    const allowed = await until("RBAC to allow the service account", () =>
      core.listNamespacedConfigMap({ namespace: ns.name }).catch(() => undefined),
    );
    expect(allowed.items.map((c) => c.metadata?.name)).toContain("visible");
    // Still nothing beyond the Role: neither another resource nor another verb.
    const secrets = await core.listNamespacedSecret({ namespace: ns.name }).catch((e: unknown) => e);
    expect((secrets as ApiException<unknown>).code).toBe(403);
    const write = await core
      .createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "x" } } })
      .catch((e: unknown) => e);
    expect((write as ApiException<unknown>).code).toBe(403);
  });

  it("stores a Deployment (no reflect2 panic) and the controller-manager creates its ReplicaSet and Pending pods", async () => {
    const apps = adminKubeConfig().makeApiClient(AppsV1Api);
    const created = await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment("web", 2) });
    expect(created.metadata?.uid).toBeTruthy();
    // Updating it too: the old vendored reflect2 broke on exactly this kind of write.
    const bumped = await kube<V1Deployment>("PATCH", `/apis/apps/v1/namespaces/${ns.name}/deployments/web`, {
      contentType: "application/merge-patch+json",
      body: { spec: { template: { metadata: { annotations: { bumped: "1" } } } } },
    });
    expect(bumped.metadata?.generation).toBe(2);

    const replicaSets = await until("the Deployment's ReplicaSets", async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns.name, labelSelector: "app=web" });
      return list.items.length > 0 ? list.items : undefined;
    });
    expect(replicaSets[0]?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Deployment", name: "web" });
    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    const pods = await until("the ReplicaSet's pods", async () => {
      const list = await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=web" });
      return list.items.length >= 2 ? list.items : undefined;
    });
    expect(pods.every((p) => p.status?.phase === "Pending" && !p.spec?.nodeName)).toBe(true);
  });

  it("rolls a Deployment out to a new template once the new pods are reported ready, removing the old ones", async () => {
    await kube("POST", `/apis/apps/v1/namespaces/${ns.name}/deployments`, { body: deployment("shop", 2) });
    await completeRollout("Deployment", ns.name, "shop");
    await kube("PATCH", `/apis/apps/v1/namespaces/${ns.name}/deployments/shop`, {
      contentType: "application/merge-patch+json",
      body: {
        spec: { template: { spec: { containers: [{ name: "shop", image: "127.0.0.1:5000/acme/web:2" }] } } },
      },
    });
    const rolled = await completeRollout("Deployment", ns.name, "shop");
    expect(rolled.metadata.generation).toBe(2);
    const pods = await kube<{ items: { spec: { containers: { image: string }[] } }[] }>(
      "GET",
      `/api/v1/namespaces/${ns.name}/pods?labelSelector=app%3Dshop`,
    );
    // Unscheduled pods of the old ReplicaSet are deleted at once (no kubelet to wait for).
    expect(pods.items.map((p) => p.spec.containers[0]?.image)).toEqual([
      "127.0.0.1:5000/acme/web:2",
      "127.0.0.1:5000/acme/web:2",
    ]);
  });

  it("rolls a StatefulSet out pod by pod as each is reported ready", async () => {
    await kube("POST", `/apis/apps/v1/namespaces/${ns.name}/statefulsets`, {
      body: {
        metadata: { name: "queue" },
        spec: {
          replicas: 3,
          serviceName: "queue",
          selector: { matchLabels: { app: "queue" } },
          template: {
            metadata: { labels: { app: "queue" } },
            spec: { containers: [{ name: "queue", image: "queue:1" }] },
          },
        },
      },
    });
    const rolled = await completeRollout("StatefulSet", ns.name, "queue");
    expect(rolled.status).toMatchObject({ readyReplicas: 3, replicas: 3 });
  });

  it("counts a DaemonSet as rolled out at once: there are no nodes to run it on", async () => {
    await kube("POST", `/apis/apps/v1/namespaces/${ns.name}/daemonsets`, {
      body: {
        metadata: { name: "agent" },
        spec: {
          selector: { matchLabels: { app: "agent" } },
          template: {
            metadata: { labels: { app: "agent" } },
            spec: { containers: [{ name: "a", image: "a:1" }] },
          },
        },
      },
    });
    const rolled = await completeRollout("DaemonSet", ns.name, "agent");
    expect(rolled.status).toMatchObject({ desiredNumberScheduled: 0, observedGeneration: 1 });
  });

  it("keeps a Deployment unavailable while its pods are Pending, and the controller overwrites a hand-written status", async () => {
    await kube("POST", `/apis/apps/v1/namespaces/${ns.name}/deployments`, { body: deployment("stuck", 1) });
    await until("the Deployment controller to report the rollout", async () => {
      const d = await kube<{ status?: { updatedReplicas?: number } }>(
        "GET",
        `/apis/apps/v1/namespaces/${ns.name}/deployments/stuck`,
      );
      return d.status?.updatedReplicas === 1 ? d : undefined;
    });
    const written = await writeWorkloadStatus("Deployment", ns.name, "stuck", {
      readyReplicas: 1,
      availableReplicas: 1,
    });
    expect(written.status).toMatchObject({ availableReplicas: 1 });
    const recomputed = await until("the Deployment controller to recompute the status", async () => {
      const d = await kube<{ status?: { availableReplicas?: number; unavailableReplicas?: number } }>(
        "GET",
        `/apis/apps/v1/namespaces/${ns.name}/deployments/stuck`,
      );
      return d.status?.availableReplicas === undefined ? d : undefined;
    });
    expect(recomputed.status?.unavailableReplicas).toBe(1);
  });

  it("takes a workload's status through the status subresource", async () => {
    await kube("POST", `/apis/apps/v1/namespaces/${ns.name}/statefulsets`, {
      body: {
        metadata: { name: "db" },
        spec: {
          replicas: 1,
          serviceName: "db",
          selector: { matchLabels: { app: "db" } },
          template: {
            metadata: { labels: { app: "db" } },
            spec: { containers: [{ name: "db", image: "db:1" }] },
          },
        },
      },
    });
    const written = await writeWorkloadStatus("StatefulSet", ns.name, "db", {
      observedGeneration: 1,
      replicas: 1,
      readyReplicas: 1,
      currentReplicas: 1,
      updatedReplicas: 1,
    });
    expect(written.status).toMatchObject({ readyReplicas: 1, updatedReplicas: 1 });
  });

  it("applies server-side with a field manager and reports a conflict with another manager", async () => {
    const path = `/api/v1/namespaces/${ns.name}/configmaps/settings`;
    const apply = (manager: string, value: string, force = false) =>
      kubeRequest("PATCH", `${path}?fieldManager=${manager}${force ? "&force=true" : ""}`, {
        contentType: "application/apply-patch+yaml",
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { mode: value } },
      });
    expect((await apply("sysconfig", "a")).status).toBe(201);
    const conflict = await apply("someone-else", "b");
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({
      reason: "Conflict",
      details: {
        causes: [
          { reason: "FieldManagerConflict", message: 'conflict with "sysconfig"', field: ".data.mode" },
        ],
      },
    });
    expect((await apply("someone-else", "b", true)).status).toBe(200);
  });

  it("allocates Service IPs from 10.96.0.0/16", async () => {
    const svc = await kube<{ spec: { clusterIP: string } }>(
      "POST",
      `/api/v1/namespaces/${ns.name}/services`,
      {
        body: {
          metadata: { name: "web" },
          spec: { selector: { app: "web" }, ports: [{ port: 80, protocol: "TCP" }] },
        },
      },
    );
    expect(svc.spec.clusterIP).toMatch(/^10\.96\./);
  });

  it("is idempotent: a second start of the services reuses the running control plane", () => {
    const log = execFileSync("bash", ["-c", "bash scripts/services.sh kubernetes 2>&1"], {
      encoding: "utf8",
    });
    expect(log).toMatch(/etcd 127\.0\.0\.1:23790: already answering \(reused\)/);
    expect(log).toMatch(/kube-apiserver https:\/\/127\.0\.0\.1:6443: already ready \(reused\)/);
    expect(log).toMatch(/kubeconfig +\/.*admin\.kubeconfig/);
    expect(log).not.toMatch(/docker engine/);
  });

  it("fails loudly, naming the port, when 6443 is held by something that is not its own apiserver", async () => {
    // A second state directory (its own CA and tokens) sharing the built binaries: the running apiserver
    // on 6443 is then foreign to it.
    const { dir, cleanup } = await tempDir();
    try {
      mkdirSync(path.join(dir, "kubernetes", KUBE.version), { recursive: true });
      symlinkSync(KUBE.binDir, path.join(dir, "kubernetes", KUBE.version, "bin"));
      const run = spawnSync("bash", ["scripts/kubernetes.sh", "start"], {
        env: { ...process.env, SYSCONFIG_SERVICES_DIR: dir },
        encoding: "utf8",
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(
        /kubernetes: FAILED: 127\.0\.0\.1:6443 is taken by something that is not this control plane's kube-apiserver; free it/,
      );
    } finally {
      await cleanup();
    }
  });
});
