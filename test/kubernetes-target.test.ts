// The kubernetes target against the real kube-apiserver 1.20.2 started by the services script: no fake.
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { summarize } from "../reconciler/diff/summary.js";
import { RuntimeFailureError, SafetyRefusalError } from "../reconciler/errors.js";
import { SERVICE_ACCOUNT_DIR } from "../reconciler/targets/kubernetes/endpoint.js";
import { planJson } from "../reconciler/plan/json.js";
import { formatPlanText } from "../reconciler/plan/text.js";
import {
  kube,
  kubeRequest,
  kubeconfigText,
  adminToken,
  testNamespace,
  writeWorkloadStatus,
  completeRollout,
  settleDeployments,
} from "./helpers/kube.js";
import { kubeReconcile, writeKubeRepo, type KubeService } from "./helpers/kube-repo.js";
import { tempDir } from "./helpers/tmp.js";

const CONFIGMAP = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { mode: "${value}" }\n`;
const SECRET = `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\ntype: Opaque\nstringData: { password: "hunter2-very-secret" }\n`;

let ns: { name: string; cleanup: () => Promise<void> };
let tmp: { dir: string; cleanup: () => Promise<void> };
let kubeconfig: string;
let repo: string;

beforeEach(async () => {
  ns = await testNamespace("k8s-target");
  tmp = await tempDir("sysconfig-k8s-");
  kubeconfig = path.join(tmp.dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText({ token: adminToken() }));
  repo = path.join(tmp.dir, "repo");
});
afterEach(async () => {
  await ns.cleanup();
  await tmp.cleanup();
});

const write = (services: Record<string, KubeService>) =>
  writeKubeRepo(repo, { namespace: ns.name, kubeconfig, services });
interface LiveDeployment {
  metadata: {
    generation: number;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    managedFields: { manager: string; operation: string }[];
  };
  spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
}
interface LiveConfigMap {
  metadata: { labels?: Record<string, string> };
  data: Record<string, string>;
}
const deployment = (name: string) =>
  kube<LiveDeployment>("GET", `/apis/apps/v1/namespaces/${ns.name}/deployments/${name}`);

describe("kubernetes target on a real apiserver", () => {
  it("creates Deployments and Services, then plans a no-op with one list per kind and no dry-run", async () => {
    await write({ web: {}, api: { dependsOn: ["web"] } });
    const first = await kubeReconcile(repo);
    expect(first.error).toBeUndefined();
    expect(first.outcome?.results?.map((r) => `${r.action} ${r.subject}`).sort()).toEqual([
      `create kubernetes:apps/v1/Deployment/${ns.name}/api`,
      `create kubernetes:apps/v1/Deployment/${ns.name}/web`,
      `create kubernetes:v1/Service/${ns.name}/api`,
      `create kubernetes:v1/Service/${ns.name}/web`,
    ]);
    const live = await deployment("web");
    expect(live.metadata.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "sysconfig",
      "sysconfig.io/system": "acme",
      "sysconfig.io/environment": "master",
      "sysconfig.io/service": "web",
    });
    expect(live.metadata.annotations["sysconfig.io/hash"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(live.metadata.managedFields.map((f) => `${f.manager}/${f.operation}`)).toContain(
      "sysconfig/Apply",
    );

    await settleDeployments(ns.name);
    const plan = await kubeReconcile(repo, { planOnly: true });
    expect(summarize(plan.outcome?.changeSet.changes ?? [])).toMatchObject({
      create: 0,
      update: 0,
      delete: 0,
      unchanged: 4,
    });
    // One list per kind and namespace, plus the Lease holding the inventory, and discovery: the group
    // list and one request per group version used (v1, apps/v1). Nothing per object.
    expect(plan.target.client.counts).toEqual({ LIST: 2, GET: 1, DISCOVERY: 3 });
    expect(plan.target.lastDryRuns).toBe(0);
  });

  it("finds a field changed by hand, shows it with the manager, and takes it back", async () => {
    await write({ web: {} });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    // As `kubectl edit` would: another field manager changes a field sysconfig set.
    await kube("PATCH", `/apis/apps/v1/namespaces/${ns.name}/deployments/web?fieldManager=kubectl-edit`, {
      body: { spec: { replicas: 4 } },
      contentType: "application/merge-patch+json",
    });
    const plan = await kubeReconcile(repo, { planOnly: true });
    const change = plan.outcome?.changeSet.changes.find((c) => c.action === "update");
    expect(change?.subject).toBe(`kubernetes:apps/v1/Deployment/${ns.name}/web`);
    expect(change?.notes).toContain("drift: spec.replicas is 4, sysconfig sets 1");
    expect(change?.notes.join("\n")).toMatch(/conflict: \.spec\.replicas is managed by "kubectl-edit"/);
    const text = formatPlanText(plan.outcome!.changeSet, { color: false });
    // The diff is the dry-run result against the live object: only the changed field, no defaults.
    expect(text).toContain("-  replicas: 4\n");
    expect(text).toContain("+  replicas: 1\n");
    expect(text.split("\n").filter((l) => /^\s{4}[-+] /.test(l))).toHaveLength(2);

    const fix = await kubeReconcile(repo);
    expect(fix.error).toBeUndefined();
    expect((await deployment("web")).spec.replicas).toBe(1);
    await settleDeployments(ns.name);
    const again = await kubeReconcile(repo, { planOnly: true });
    expect(summarize(again.outcome?.changeSet.changes ?? []).unchanged).toBe(2);
  });

  it("updates only what changed when a tag is bumped: one dry-run to plan it, none to apply it", async () => {
    await write({ web: {}, api: {} });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    await write({ web: { tag: "2-develop" }, api: {} });
    await settleDeployments(ns.name);
    const plan = await kubeReconcile(repo, { planOnly: true });
    const changes = plan.outcome?.changeSet.changes ?? [];
    expect(changes.filter((c) => c.action === "update").map((c) => c.subject)).toEqual([
      `kubernetes:apps/v1/Deployment/${ns.name}/web`,
    ]);
    expect(plan.target.lastDryRuns).toBe(1);
    const text = formatPlanText(plan.outcome!.changeSet, { color: false });
    expect(text.split("\n").filter((l) => /^\s{4}[-+] /.test(l))).toEqual([
      "    -        - image: 127.0.0.1:5000/acme/web:1-develop",
      "    +        - image: 127.0.0.1:5000/acme/web:2-develop",
    ]);
    await settleDeployments(ns.name);
    const run = await kubeReconcile(repo);
    expect(run.outcome?.results?.map((r) => r.subject)).toEqual([
      `kubernetes:apps/v1/Deployment/${ns.name}/web`,
    ]);
    // A reconcile sends no dry-run for a changed manifest (the apply is the server's answer); its plan
    // shows the live value of the fields sysconfig sets against the new manifest: the same two lines.
    expect(run.target.client.counts.DRYRUN).toBeUndefined();
    const applied = formatPlanText(run.outcome!.changeSet, { color: false });
    expect(applied.split("\n").filter((l) => /^\s{4}[-+] /.test(l))).toEqual([
      "    -        - image: 127.0.0.1:5000/acme/web:1-develop",
      "    +        - image: 127.0.0.1:5000/acme/web:2-develop",
    ]);
    expect((await deployment("web")).spec.template.spec.containers[0]?.image).toBe(
      "127.0.0.1:5000/acme/web:2-develop",
    );
  });

  it("waits for the rollout and reports a stalled one with the controller's reason", async () => {
    await write({ web: {} });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    await write({ web: { tag: "2-develop" } });
    // The test plays the kubelet: marking the new pods Ready lets the real controllers complete the rollout.
    const rolled = kubeReconcile(repo, { wait: true, timeoutSeconds: 60 });
    for (let i = 0; i < 200 && (await deployment("web")).metadata.generation < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await completeRollout("Deployment", ns.name, "web", 60_000);
    const done = await rolled;
    expect(done.error).toBeUndefined();
    expect(done.outcome?.results?.find((r) => r.subject.includes("Deployment"))?.status).toBe("healthy");

    await write({ web: { tag: "3-develop" } });
    const stalled = kubeReconcile(repo, { wait: true, timeoutSeconds: 30 });
    const stall = setInterval(() => void stallOnce(), 300);
    const stallOnce = async (): Promise<void> => {
      const live = await deployment("web").catch(() => undefined);
      if (!live) return;
      await writeWorkloadStatus("Deployment", ns.name, "web", {
        observedGeneration: live.metadata.generation,
        conditions: [
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: 'ReplicaSet "web-x" has timed out progressing.',
          },
        ],
      }).catch(() => undefined);
    };
    const failed = await stalled;
    clearInterval(stall);
    expect(failed.error).toBeInstanceOf(RuntimeFailureError);
    expect((failed.error as Error).message).toContain("rollout stalled (ProgressDeadlineExceeded)");
  });

  it("leaves an unlabelled object with the same name alone and reports it as a conflict", async () => {
    await kube("POST", `/api/v1/namespaces/${ns.name}/configmaps`, {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { mode: "theirs" } },
    });
    await write({ settings: { template: CONFIGMAP("settings", "ours") } });
    const run = await kubeReconcile(repo);
    expect(run.error).toBeInstanceOf(RuntimeFailureError);
    const conflict = run.outcome?.changeSet.changes.find((c) => c.conflict === true);
    expect(conflict?.subject).toBe(`kubernetes:v1/ConfigMap/${ns.name}/settings`);
    const live = await kube<LiveConfigMap>("GET", `/api/v1/namespaces/${ns.name}/configmaps/settings`);
    expect(live.data).toEqual({ mode: "theirs" });
    expect(live.metadata.labels).toBeUndefined();
  });

  it("refuses a change that conflicts with another manager, naming field and manager; --force-conflicts takes over", async () => {
    await write({ settings: { template: CONFIGMAP("settings", "one") } });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    await kube(
      "PATCH",
      `/api/v1/namespaces/${ns.name}/configmaps/settings?fieldManager=operator&force=true`,
      {
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "settings" },
          data: { mode: "operator" },
        },
        contentType: "application/apply-patch+yaml",
      },
    );
    await write({ settings: { template: CONFIGMAP("settings", "two") } });
    const refused = await kubeReconcile(repo);
    expect(refused.error).toBeInstanceOf(RuntimeFailureError);
    expect((refused.error as Error).message).toMatch(
      /\.data\.mode is managed by "operator".*--force-conflicts/,
    );
    let live = await kube<LiveConfigMap>("GET", `/api/v1/namespaces/${ns.name}/configmaps/settings`);
    expect(live.data.mode).toBe("operator");

    const forced = await kubeReconcile(repo, {}, { env: { SYSCONFIG_FORCE_CONFLICTS: "1" } });
    expect(forced.error).toBeUndefined();
    live = await kube<LiveConfigMap>("GET", `/api/v1/namespaces/${ns.name}/configmaps/settings`);
    expect(live.data.mode).toBe("two");
  });

  it("prunes what left the config, also a kind the config no longer uses at all (inventory)", async () => {
    await write({ web: {}, settings: { template: CONFIGMAP("settings", "x") }, api: {}, jobs: {}, more: {} });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    await write({ web: {}, api: {}, jobs: {}, more: {} });
    await settleDeployments(ns.name);
    const run = await kubeReconcile(repo);
    expect(run.error).toBeUndefined();
    expect(run.outcome?.results?.filter((r) => r.action === "delete").map((r) => r.subject)).toEqual([
      `kubernetes:v1/ConfigMap/${ns.name}/settings`,
    ]);
    expect((await kubeRequest("GET", `/api/v1/namespaces/${ns.name}/configmaps/settings`)).status).toBe(404);
  });

  it("never prints Secret values, in plans or diffs", async () => {
    await write({ db: { template: SECRET } });
    const plan = await kubeReconcile(repo, { planOnly: true });
    const first = formatPlanText(plan.outcome!.changeSet, { color: false });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    await write({ db: { template: SECRET.replace("hunter2-very-secret", "hunter3-very-secret") } });
    const update = await kubeReconcile(repo, { planOnly: true });
    const second = formatPlanText(update.outcome!.changeSet, { color: false });
    const json = JSON.stringify(planJson(update.outcome!.changeSet));
    for (const text of [first, second, json]) {
      expect(text).not.toMatch(/hunter[23]/);
      expect(text).not.toContain(Buffer.from("hunter2-very-secret").toString("base64"));
      expect(text).not.toContain(Buffer.from("hunter3-very-secret").toString("base64"));
    }
    expect(second).toMatch(/password: "<secret hmac:[0-9a-f]{8}>"/);
  });

  it("refuses a second reconciler while the Lease is held (exit 4) and takes over an expired one", async () => {
    await write({ web: {} });
    const now = new Date();
    await kube("POST", `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases`, {
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "sysconfig-lock-acme" },
        spec: {
          holderIdentity: "other-host pid 7",
          leaseDurationSeconds: 60,
          renewTime: now.toISOString().replace("Z", "000Z"),
        },
      },
    });
    const refused = await kubeReconcile(repo);
    expect(refused.error).toBeInstanceOf(SafetyRefusalError);
    expect((refused.error as Error).message).toMatch(/held by other-host pid 7.*--wait-lock/);
    expect((await kubeRequest("GET", `/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).status).toBe(
      404,
    );

    const old = new Date(Date.now() - 120_000).toISOString().replace("Z", "000Z");
    await kube("PATCH", `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/sysconfig-lock-acme`, {
      body: { spec: { renewTime: old } },
      contentType: "application/merge-patch+json",
    });
    const run = await kubeReconcile(repo);
    expect(run.error).toBeUndefined();
    const lease = await kube<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/sysconfig-lock-acme`,
    );
    expect(lease.spec.holderIdentity).toBe("");
    expect(lease.spec.leaseTransitions).toBe(1);
  });

  it("refuses a kubeconfig that skips TLS verification, and talks to no one", async () => {
    const insecure = JSON.parse(kubeconfigText({ token: adminToken() })) as {
      clusters: { cluster: unknown }[];
    };
    insecure.clusters[0]!.cluster = { server: "https://127.0.0.1:6443", "insecure-skip-tls-verify": true };
    await writeFile(kubeconfig, JSON.stringify(insecure));
    await write({ web: {} });
    const run = await kubeReconcile(repo, { planOnly: true }).catch((e: unknown) => ({ error: e }));
    expect((run as { error: Error }).error.message).toMatch(
      /insecure-skip-tls-verify, which sysconfig refuses/,
    );
    expect((run as { error: { exitCode: number } }).error.exitCode).toBe(3);
  });
  it("refuses an unknown --context, naming the contexts the kubeconfig has (exit 3)", async () => {
    await write({ web: {} });
    const run = await kubeReconcile(repo, { planOnly: true }, { env: { SYSCONFIG_CONTEXT: "prod" } }).catch(
      (e: unknown) => ({ error: e }),
    );
    const error = (run as { error: Error & { exitCode: number } }).error;
    expect(error.message).toMatch(/context 'prod' is not in .*kubeconfig; it has sysconfig-test/);
    expect(error.exitCode).toBe(3);
  });

  it("refuses to run in a pod without a mounted service account token (exit 3)", async () => {
    // This machine is no pod: nothing is mounted at the service account path.
    expect(existsSync(SERVICE_ACCOUNT_DIR)).toBe(false);
    await writeKubeRepo(repo, { namespace: ns.name, services: { web: {} } });
    const run = await kubeReconcile(
      repo,
      { planOnly: true },
      { env: { KUBERNETES_SERVICE_HOST: "127.0.0.1" } },
    ).catch((e: unknown) => ({ error: e }));
    const error = (run as { error: Error & { exitCode: number } }).error;
    expect(error.message).toMatch(/KUBERNETES_SERVICE_HOST is set but .*token does not exist/);
    expect(error.exitCode).toBe(3);
  });
});
