// `sysconfig rbac`: the example's deploy/kubernetes/role.yaml is exactly its output, and that RBAC is
// enough — the example's master environment reconciles on the real apiserver as a service account
// holding only the generated Role and ClusterRole (Ingress, HPA, PDB, NetworkPolicy, Secret, CRD and its object).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments, parseDocument } from "yaml";
import { ROOT, runCli } from "./helpers/cli.js";
import {
  kube,
  kubeconfigText,
  kubeRequest,
  markPodsReady,
  serviceAccountToken,
  settleDeployments,
  testNamespace,
  until,
} from "./helpers/kube.js";
import { kubeReconcile } from "./helpers/kube-repo.js";
import { tempDir } from "./helpers/tmp.js";

const EXAMPLE = path.join(ROOT, "sysconfig-example");
let tmp: { dir: string; cleanup: () => Promise<void> };
let ns: { name: string; cleanup: () => Promise<void> };
const id = randomBytes(4).toString("hex");
const system = `acme${id}`;

beforeAll(async () => {
  tmp = await tempDir("sysconfig-rbac-");
  ns = await testNamespace("k8s-rbac");
});
afterAll(async () => {
  await kubeRequest(
    "DELETE",
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/greetings.${system}.example.com`,
  );
  await kubeRequest("DELETE", `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sysconfig-${system}`);
  await kubeRequest("DELETE", `/apis/rbac.authorization.k8s.io/v1/clusterroles/sysconfig-${system}`);
  await ns.cleanup();
  await tmp.cleanup();
});

describe("sysconfig rbac", () => {
  it("prints exactly the example's deploy/kubernetes/role.yaml for its master environment", async () => {
    const copy = path.join(tmp.dir, "example");
    await cp(EXAMPLE, copy, { recursive: true });
    const run = await runCli(["rbac", "--repo", copy, "--environment", "master"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(await readFile(path.join(EXAMPLE, "deploy/kubernetes/role.yaml"), "utf8"));
    // A ClusterRole only because the example renders a CustomResourceDefinition.
    expect(run.stdout).toMatch(/kind: ClusterRole\n[\s\S]*resources: \[customresourcedefinitions\]/);
  });

  it("refuses an environment that does not target Kubernetes, naming one that does (exit 3)", async () => {
    const run = await runCli(["rbac", "--repo", path.join(tmp.dir, "example"), "--environment", "develop"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/environment develop targets docker, not kubernetes.*--environment master/);
  });

  it("grants enough: the example reconciles as a service account holding only the generated RBAC", async () => {
    // The example as system acme<id> in the test's namespace, so its CRD and ClusterRole are this test's own.
    const repo = path.join(tmp.dir, "mine");
    await cp(EXAMPLE, repo, { recursive: true });
    const file = path.join(repo, "sysconfig.yaml");
    const doc = parseDocument(await readFile(file, "utf8"));
    doc.set("name", system);
    doc.setIn(["environments", "master", "target", "namespace"], ns.name);
    doc.setIn(["environments", "master", "target", "kubeconfig"], path.join(tmp.dir, "kubeconfig"));
    await writeFile(file, doc.toString());
    const rbac = await runCli(["rbac", "--repo", repo, "--environment", "master"]);
    expect(rbac.code).toBe(0);
    for (const d of parseAllDocuments(rbac.stdout)) {
      const object = d.toJS() as { kind: string; metadata: { namespace?: string } };
      const base = "/apis/rbac.authorization.k8s.io/v1";
      const where = object.metadata.namespace === undefined ? "" : `/namespaces/${object.metadata.namespace}`;
      await kube("POST", `${base}${where}/${object.kind.toLowerCase()}s`, { body: object });
    }
    await kube("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings`, {
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "sysconfig" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "sysconfig" },
        subjects: [{ kind: "ServiceAccount", name: "sysconfig", namespace: ns.name }],
      },
    });
    const sa = await serviceAccountToken(ns.name, "sysconfig");
    await writeFile(path.join(tmp.dir, "kubeconfig"), kubeconfigText({ token: sa.token }));
    const render = await runCli(["render", "--repo", repo, "--environment", "master"]);
    expect(render.code).toBe(0);
    // The test plays the kubelet: a service's objects roll in kind order, each confirmed before the next.
    const kubelet = setInterval(
      () => void markPodsReady(ns.name, `app.kubernetes.io/part-of=${system}`).catch(() => undefined),
      300,
    );
    const run = await until(
      "the RBAC to take effect",
      async () => {
        const r = await kubeReconcile(repo, { timeoutSeconds: 60 });
        return /forbidden/i.test(String(r.error)) ? undefined : r;
      },
      90_000,
    ).finally(() => clearInterval(kubelet));
    expect(run.error).toBeUndefined();
    expect(run.outcome?.results?.map((r) => r.subject.replace(/^kubernetes:/, "")).sort()).toEqual(
      [
        `${system}.example.com/v1/Greeting/${ns.name}/hello`,
        `apiextensions.k8s.io/v1/CustomResourceDefinition/greetings.${system}.example.com`,
        `apps/v1/Deployment/${ns.name}/hello`,
        `apps/v1/Deployment/${ns.name}/legacy-api`,
        `apps/v1/Deployment/${ns.name}/worker`,
        `autoscaling/v1/HorizontalPodAutoscaler/${ns.name}/hello`,
        `networking.k8s.io/v1/Ingress/${ns.name}/hello`,
        `networking.k8s.io/v1/NetworkPolicy/${ns.name}/hello`,
        `policy/v1beta1/PodDisruptionBudget/${ns.name}/worker`,
        `v1/Secret/${ns.name}/hello-secrets`, // hello's API_TOKEN (the example's secret)
        `v1/Service/${ns.name}/hello`,
      ].sort(),
    );
    await settleDeployments(ns.name);
    const again = await kubeReconcile(repo, { planOnly: true });
    expect(again.error).toBeUndefined();
    expect(again.outcome?.changeSet.changes.filter((c) => c.action !== "unchanged")).toEqual([]);
  }, 120_000);
});
