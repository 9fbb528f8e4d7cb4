// `sysconfig validate` checks rendered Kubernetes manifests offline (no cluster is reached): a template
// that renders invalid YAML, an object without apiVersion/kind/metadata.name, an object rendered twice, or a
// namespace on a kind known offline to be cluster-scoped is exit 3 naming the file and the fix.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import path from "node:path";
import { runCli } from "./helpers/cli.js";
import { writeKubeRepo, type KubeService } from "./helpers/kube-repo.js";
import { tempDir } from "./helpers/tmp.js";

let tmp: { dir: string; cleanup: () => Promise<void> };
let n = 0;
beforeAll(async () => {
  tmp = await tempDir("sysconfig-k8s-validate-");
});
afterAll(async () => {
  await tmp.cleanup();
});

/** validate of a config whose environment targets a cluster that does not exist (nothing may reach it). */
async function validate(services: Record<string, KubeService>) {
  const repo = path.join(tmp.dir, `repo${n++}`);
  await writeKubeRepo(repo, { namespace: "shop", kubeconfig: "/nonexistent/kubeconfig", services });
  return runCli(["validate", "--repo", repo, "--environment", "master"], {
    env: { KUBERNETES_SERVICE_HOST: "", KUBECONFIG: "/nonexistent/kubeconfig" },
  });
}

const deployment = (name: string, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}${extra} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: app, image: {{json service.imageRef}} }] }
`;

describe("sysconfig validate on a Kubernetes environment, offline", () => {
  it("passes a valid config, with a custom kind only the server knows (left to plan)", async () => {
    const run = await validate({
      web: {
        template: `${deployment("web")}---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: { name: web, namespace: shop }\nspec: { secretName: web-tls }\n`,
      },
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("refuses a template that renders invalid YAML, naming the rendered file and line (exit 3)", async () => {
    const run = await validate({
      web: { template: `${deployment("web")}---\nkind: Service\n  bad: [indent\n` },
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /rendered\/[^\s]*web[^\s]* line \d+ is not valid YAML: .*Fix the template and re-render/,
    );
  });

  it("refuses a manifest without a kind, or without metadata.name (exit 3)", async () => {
    const noKind = await validate({ web: { template: "apiVersion: v1\nmetadata: { name: web }\n" } });
    expect(noKind.code).toBe(3);
    expect(noKind.stderr).toMatch(/web[^\s]* \(document 1\): apiVersion and kind must be strings/);
    const noName = await validate({ web: { template: "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n" } });
    expect(noName.code).toBe(3);
    expect(noName.stderr).toMatch(/metadata\.name must be a DNS name .*got nothing/);
  });

  it("refuses an object rendered twice, naming both files (exit 3)", async () => {
    const run = await validate({
      web: { template: deployment("shared") },
      api: { template: deployment("shared") },
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /apps\/v1\/Deployment\/shop\/shared is rendered twice \(rendered\/\S*api\S* .* and rendered\/\S*web\S* /,
    );
    expect(run.stderr).toContain("Rename one of them in its template and re-render");
  });

  it("refuses a namespace on a cluster-scoped kind, built in or defined by the config's own CRD (exit 3)", async () => {
    const builtin = await validate({
      web: {
        template:
          "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: web, namespace: shop }\nrules: []\n",
      },
    });
    expect(builtin.code).toBe(3);
    expect(builtin.stderr).toMatch(
      /ClusterRole is cluster-scoped: remove metadata\.namespace from the template and re-render/,
    );
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: zones.example.com }
spec:
  group: example.com
  scope: Cluster
  names: { kind: Zone, plural: zones }
  versions:
    - { name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } } }
---
apiVersion: example.com/v1
kind: Zone
metadata: { name: eu, namespace: shop }
`;
    const custom = await validate({ web: { template: crd } });
    expect(custom.code).toBe(3);
    expect(custom.stderr).toMatch(
      /web\S* \(document 2\): Zone is cluster-scoped: remove metadata\.namespace/,
    );
  });
});
