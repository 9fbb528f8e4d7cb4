// `sysconfig rbac` and encrypted secrets: an environment whose services hold encrypted values renders a
// sysconfig-owned `<service>-secrets` Secret, so the printed Role grants on `secrets` exactly the verbs the
// target uses on it (list, get, create, patch, delete) in a rule of its own, and says what that exposes;
// an environment without secrets gets no rule on Secrets at all. Offline: no cluster is reached.
// (That the granted verbs are enough is proven in kubernetes-in-pod-secrets.test.ts, RBAC enforced.)
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { OBJECT_VERBS } from "../reconciler/targets/kubernetes/rbac.js";
import { runCli } from "./helpers/cli.js";
import { secretsYaml } from "./helpers/secret-config.js";
import { keygen } from "./helpers/secret-repos.js";
import { tempDir } from "./helpers/tmp.js";

let tmp: { dir: string; cleanup: () => Promise<void> };
let recipient: string;
beforeAll(async () => {
  tmp = await tempDir("sysconfig-rbac-secrets-");
  recipient = (await keygen(path.join(tmp.dir, "master.key"))).recipient;
});
afterAll(async () => {
  await tmp.cleanup();
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** `sysconfig rbac` of a config with services hello (with `secrets` values) and worker (none). */
async function rbacOf(secrets: Record<string, string>): Promise<{ text: string; rules: Rule[] }> {
  const repo = path.join(tmp.dir, `repo-${Object.keys(secrets).length}`);
  await mkdir(repo, { recursive: true });
  await writeFile(
    path.join(repo, "sysconfig.yaml"),
    `name: acme
image: 127.0.0.1:5000/acme/sysconfig
environments:
  master:
    target: { kind: kubernetes, namespace: shop }
    secrets:
      recipients: [${recipient}]
services:
  worker:
    image: 127.0.0.1:5000/acme/worker
    tag: 1-develop
  hello:
    image: 127.0.0.1:5000/acme/hello
    tag: 1-develop
    ports: [{ container: 8080 }]
${Object.keys(secrets).length > 0 ? secretsYaml("master", recipient, secrets) : ""}`,
  );
  const run = await runCli(["rbac", "--repo", repo, "--environment", "master"], {
    env: { SYSCONFIG_IDENTITY_FILE: "" },
  });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const rules = parseAllDocuments(run.stdout).flatMap((d) => {
    const object = d.toJS() as { kind: string; rules?: Rule[] };
    return object.kind === "Role" || object.kind === "ClusterRole" ? (object.rules ?? []) : [];
  });
  return { text: run.stdout, rules };
}

describe("sysconfig rbac for an environment with encrypted secrets", () => {
  it("grants on secrets exactly the verbs the target uses on its owned Secret, in a rule of its own", async () => {
    const { text, rules } = await rbacOf({ DB_PASSWORD: "rbac-db", API_TOKEN: "rbac-token" });
    const onSecrets = rules.filter((r) => r.resources.includes("secrets"));
    expect(onSecrets).toEqual([
      { apiGroups: [""], resources: ["secrets"], verbs: ["list", "get", "create", "patch", "delete"] },
    ]);
    expect(OBJECT_VERBS).toEqual(["list", "get", "create", "patch", "delete"]);
    // The rest of the core group is unchanged: the Service only.
    expect(rules.filter((r) => r.apiGroups.includes("") && !r.resources.includes("secrets"))).toEqual([
      { apiGroups: [""], resources: ["services"], verbs: OBJECT_VERBS },
    ]);
    expect(text).toContain("this account can read every\n# Secret in shop");
    expect(text).not.toContain("rbac-db");
  });

  it("grants nothing on Secrets when no service of the environment has encrypted values", async () => {
    const { text, rules } = await rbacOf({});
    expect(rules.filter((r) => r.resources.includes("secrets"))).toEqual([]);
    expect(text).not.toMatch(/secret/i);
  });
});
