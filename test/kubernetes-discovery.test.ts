// Any kind the real kube-apiserver 1.20 serves, found by discovery: CRDs and their objects in one run,
// kinds it does not serve refused before anything is applied, fallback API versions, the inventory
// (prune of a kind the config dropped, rebuilt when deleted by hand), health from status conditions,
// and a 403 that says what to grant. Each test has its own namespace, system name and CRD group.
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Reporter } from "../reconciler/report/reporter.js";
import {
  adminToken,
  kube,
  kubeconfigText,
  kubeRequest,
  serviceAccountToken,
  settleDeployments,
  testNamespace,
  until,
} from "./helpers/kube.js";
import { kubeReconcile, writeKubeRepo, type KubeService } from "./helpers/kube-repo.js";
import { tempDir } from "./helpers/tmp.js";

let ns: { name: string; cleanup: () => Promise<void> };
let tmp: { dir: string; cleanup: () => Promise<void> };
let kubeconfig: string;
let repo: string;
let id: string;
let system: string;
let group: string;

beforeEach(async () => {
  id = randomBytes(4).toString("hex");
  system = `disc-${id}`;
  group = `t${id}.sysconfig-test.io`;
  ns = await testNamespace("k8s-disc");
  tmp = await tempDir("sysconfig-k8s-disc-");
  kubeconfig = path.join(tmp.dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText({ token: adminToken() }));
  repo = path.join(tmp.dir, "repo");
});
afterEach(async () => {
  await kubeRequest("DELETE", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/greetings.${group}`);
  await ns.cleanup();
  await tmp.cleanup();
});

const write = (services: Record<string, KubeService>) =>
  writeKubeRepo(repo, { system, namespace: ns.name, kubeconfig, services });

/** A reporter that keeps what it was told. */
function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    debug: () => undefined,
  };
}

const crd = () => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: greetings.${group} }
spec:
  group: ${group}
  scope: Namespaced
  names: { kind: Greeting, plural: greetings, singular: greeting, listKind: GreetingList }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { text: { type: string } } }
            status: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;
const greeting = (text: string) =>
  `apiVersion: ${group}/v1\nkind: Greeting\nmetadata: { name: hi }\nspec: { text: "${text}" }\n`;
const NETPOL =
  "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny }\n" +
  "spec: { podSelector: {}, policyTypes: [Ingress] }\n";
const PDB = (fallback: boolean) =>
  `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n` +
  (fallback ? "  annotations: { sysconfig.io/fallback-api-versions: policy/v1beta1 }\n" : "") +
  "spec: { minAvailable: 1, selector: { matchLabels: { app.kubernetes.io/name: web } } }\n";
const HPA =
  "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: { name: web }\n" +
  "spec: { scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }, minReplicas: 1, maxReplicas: 3 }\n";

describe("kubernetes kinds by discovery on a real apiserver", () => {
  it("applies a CRD and an object of it in one run, the object after the CRD is Established; a second run is a no-op", async () => {
    await write({ greet: { template: `${greeting("hello")}---\n${crd()}` } });
    const run = await kubeReconcile(repo);
    expect(run.error).toBeUndefined();
    // The Greeting is sent beside the CRD's roll and waits in apply until the CRD is Established: were it
    // sent earlier, the server would answer 404 and the run would fail.
    expect(run.outcome?.results?.map((r) => `${r.action} ${r.subject} ${r.status}`)).toEqual([
      `create kubernetes:apiextensions.k8s.io/v1/CustomResourceDefinition/greetings.${group} applied`,
      `create kubernetes:${group}/v1/Greeting/${ns.name}/hi applied`,
    ]);
    const established = await kube<{ status: { conditions: { type: string; status: string }[] } }>(
      "GET",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/greetings.${group}`,
    );
    expect(established.status.conditions).toContainEqual(
      expect.objectContaining({ type: "Established", status: "True" }),
    );
    const live = await kube<{ spec: { text: string } }>(
      "GET",
      `/apis/${group}/v1/namespaces/${ns.name}/greetings/hi`,
    );
    expect(live.spec.text).toBe("hello");
    const again = await kubeReconcile(repo, { planOnly: true });
    expect(again.outcome?.changeSet.changes.map((c) => c.action)).toEqual(["unchanged", "unchanged"]);
  });

  it("refuses a kind the server does not serve before applying anything, naming the versions it serves (exit 3)", async () => {
    await write({ web: {}, budget: { template: PDB(false) } });
    const run = await kubeReconcile(repo);
    const error = run.error as Error & { exitCode: number };
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(
      /rendered\/budget\.yaml \(document 1\): policy\/v1 PodDisruptionBudget is not served/,
    );
    expect(error.message).toMatch(/serves policy at v1beta1 \(PodDisruptionBudget at v1beta1\)/);
    expect(error.message).toContain("sysconfig.io/fallback-api-versions");
    expect((await kubeRequest("GET", `/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).status).toBe(
      404,
    );
  });

  it("applies a PDB at its fallback version, an HPA, an Ingress and a NetworkPolicy the 1.20 server serves", async () => {
    const ingress =
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: web }\nspec:\n  rules:\n" +
      "    - http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 8080 } } } }] }\n";
    await write({ web: {}, extras: { template: [PDB(true), HPA, ingress, NETPOL].join("---\n") } });
    const run = await kubeReconcile(repo);
    expect(run.error).toBeUndefined();
    expect(run.outcome?.results?.map((r) => r.subject).sort()).toEqual(
      [
        `kubernetes:apps/v1/Deployment/${ns.name}/web`,
        `kubernetes:autoscaling/v1/HorizontalPodAutoscaler/${ns.name}/web`,
        `kubernetes:networking.k8s.io/v1/Ingress/${ns.name}/web`,
        `kubernetes:networking.k8s.io/v1/NetworkPolicy/${ns.name}/deny`,
        `kubernetes:policy/v1beta1/PodDisruptionBudget/${ns.name}/web`,
        `kubernetes:v1/Service/${ns.name}/web`,
      ].sort(),
    );
    expect(
      (await kubeRequest("GET", `/apis/policy/v1beta1/namespaces/${ns.name}/poddisruptionbudgets/web`))
        .status,
    ).toBe(200);
    await settleDeployments(ns.name);
    const again = await kubeReconcile(repo, { planOnly: true });
    expect(again.outcome?.changeSet.changes.filter((c) => c.action !== "unchanged")).toEqual([]);
  });

  it("prunes objects of a kind the config no longer renders at all (listed through the inventory)", async () => {
    await write({ web: {}, policy: { template: NETPOL } });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    await write({ web: {} });
    await settleDeployments(ns.name);
    const run = await kubeReconcile(repo);
    expect(run.error).toBeUndefined();
    expect(run.outcome?.results?.filter((r) => r.action === "delete").map((r) => r.subject)).toEqual([
      `kubernetes:networking.k8s.io/v1/NetworkPolicy/${ns.name}/deny`,
    ]);
    expect(
      (await kubeRequest("GET", `/apis/networking.k8s.io/v1/namespaces/${ns.name}/networkpolicies/deny`))
        .status,
    ).toBe(404);
  });

  it("rebuilds an inventory deleted by hand from discovery, says so, and still prunes the dropped kind", async () => {
    await write({ web: {}, api: {}, more: {}, policy: { template: NETPOL } });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    await kube(
      "DELETE",
      `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/sysconfig-lock-${system}`,
    );
    await write({ web: {}, api: {}, more: {} });
    const reporter = recorder();
    await settleDeployments(ns.name);
    const run = await kubeReconcile(repo, {}, { reporter });
    expect(run.error).toBeUndefined();
    const said = reporter.lines.find((l) => l.includes("inventory"));
    expect(said).toMatch(/inventory of disc-\w+ \(master\) is missing although objects of it exist/);
    expect(said).toMatch(/rebuilt by listing \d+ kind\(s\) the server serves/);
    expect(said).toContain(`networking.k8s.io/v1/NetworkPolicy@${ns.name}`);
    expect(run.outcome?.results?.filter((r) => r.action === "delete").map((r) => r.subject)).toEqual([
      `kubernetes:networking.k8s.io/v1/NetworkPolicy/${ns.name}/deny`,
    ]);
    const lease = await kube<{ metadata: { annotations: Record<string, string> } }>(
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/sysconfig-lock-${system}`,
    );
    expect(Object.values(lease.metadata.annotations).join()).toContain(
      `networking.k8s.io/v1/NetworkPolicy@${ns.name}`,
    );
  });

  it("reads health from status conditions a controller writes, and waits on them after an update", async () => {
    await write({ greet: { template: `${greeting("hello")}---\n${crd()}` } });
    expect((await kubeReconcile(repo)).error).toBeUndefined();
    const status = (body: Record<string, unknown>) =>
      kube("PATCH", `/apis/${group}/v1/namespaces/${ns.name}/greetings/hi/status`, {
        body: { status: body },
        contentType: "application/merge-patch+json",
      });
    // The test plays the Greeting controller.
    await status({
      observedGeneration: 1,
      conditions: [{ type: "Ready", status: "False", reason: "Issuing", message: "waiting for the CA" }],
    });
    const plan = await kubeReconcile(repo, { planOnly: true });
    const change = plan.outcome?.changeSet.changes.find((c) => c.subject.includes("/Greeting/"));
    expect(change?.actual?.health).toEqual({
      state: "progressing",
      reason: "not ready: Issuing: waiting for the CA",
    });

    await write({ greet: { template: `${greeting("hello again")}---\n${crd()}` } });
    const slow = await kubeReconcile(repo, { wait: true, timeoutSeconds: 3 });
    expect(slow.outcome?.results?.map((r) => `${r.status}: ${r.reason ?? ""}`)).toEqual([
      expect.stringMatching(/^unhealthy: .*waiting for the controller to observe generation 2 \(seen 1\)/),
    ]);
    await status({ observedGeneration: 2, conditions: [{ type: "Ready", status: "True" }] });
    const healthy = await kubeReconcile(repo, { planOnly: true });
    const after = healthy.outcome?.changeSet.changes.find((c) => c.subject.includes("/Greeting/"));
    expect(after?.actual?.health).toBeUndefined();
  });

  it("names the verb, the resource and the command to run when RBAC refuses an apply (403)", async () => {
    await kube("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/roles`, {
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "partial" },
        rules: [
          { apiGroups: ["apps"], resources: ["deployments"], verbs: ["list", "get", "create", "patch"] },
          { apiGroups: [""], resources: ["services"], verbs: ["list"] },
          {
            apiGroups: ["coordination.k8s.io"],
            resources: ["leases"],
            verbs: ["create", "get", "update", "patch"],
          },
        ],
      },
    });
    await kube("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings`, {
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "partial" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "partial" },
        subjects: [{ kind: "ServiceAccount", name: "partial", namespace: ns.name }],
      },
    });
    const sa = await serviceAccountToken(ns.name, "partial");
    await writeFile(kubeconfig, kubeconfigText({ token: sa.token }));
    await write({ web: {} });
    const run = await until("RBAC to take effect", async () => {
      const r = await kubeReconcile(repo);
      return r.outcome?.results !== undefined ? r : undefined;
    });
    const failed = run.outcome?.results?.find((r) => r.status === "failed");
    expect(failed?.subject).toBe(`kubernetes:v1/Service/${ns.name}/web`);
    expect(failed?.reason).toMatch(
      new RegExp(
        `forbidden: the credentials may not get services in namespace ${ns.name} .*sysconfig rbac --environment master`,
      ),
    );
  });
});
