// Encrypted secrets on the real apiserver: a sysconfig-owned Secret per service holds the decrypted values,
// the Deployment refers to it by secretKeyRef and never holds a value, a changed secret rolls the workload
// (checksum annotation), plan without the identity tells changed from unchanged by fingerprints, and a
// missing identity is exit 3 with nothing applied.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { loadConfig } from "../reconciler/config/load.js";
import { InvalidInputError } from "../reconciler/errors.js";
import { findStale } from "../reconciler/render/compare.js";
import { renderAll } from "../reconciler/render/render.js";
import { writeRendered } from "../reconciler/render/write.js";
import { KUBE, kube, kubeRequest, settleDeployments, testNamespace } from "./helpers/kube.js";
import { kubeReconcile } from "./helpers/kube-repo.js";
import { secretsYaml } from "./helpers/secret-config.js";
import { keygen } from "./helpers/secret-repos.js";
import { tempDir } from "./helpers/tmp.js";

jest.setTimeout(300_000);

let root: string;
let cleanup: () => Promise<void>;
let ns: { name: string; cleanup: () => Promise<void> };
let key: { file: string; recipient: string };
const repo = () => path.join(root, "repo");

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-secrets-kube-"));
  ns = await testNamespace("secrets");
  key = await keygen(path.join(root, "master.key"));
  await mkdir(repo());
});
afterAll(async () => {
  await ns.cleanup();
  await cleanup();
});

async function writeRepo(values: Record<string, string>): Promise<void> {
  const text = `name: acme
image: 127.0.0.1:5000/acme/sysconfig
environments:
  master:
    target: { kind: kubernetes, namespace: ${ns.name}, kubeconfig: ${JSON.stringify(KUBE.kubeconfig)} }
    secrets:
      recipients: [${key.recipient}]
services:
  hello:
    image: 127.0.0.1:5000/acme/hello
    tag: 1-develop
    ports: [{ container: 8080 }]
    env: { GREETING: hi }
${secretsYaml("master", key.recipient, values)}`;
  await writeFile(path.join(repo(), "sysconfig.yaml"), text);
  const config = await loadConfig(repo());
  await writeRendered(repo(), await findStale(repo(), await renderAll(repo(), config, "master")));
}

interface Deployment {
  metadata: { generation: number };
  spec: {
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] };
    };
  };
}
interface Secret {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  data?: Record<string, string>;
}
const deployment = () => kube<Deployment>("GET", `/apis/apps/v1/namespaces/${ns.name}/deployments/hello`);
const secret = () => kube<Secret>("GET", `/api/v1/namespaces/${ns.name}/secrets/hello-secrets`);
const decoded = (s: Secret, k: string) => Buffer.from(s.data?.[k] ?? "", "base64").toString("utf8");

describe("encrypted secrets on the kubernetes target", () => {
  it("without an identity: exit 3 naming the secret and its recipient, nothing applied", async () => {
    await writeRepo({ API_TOKEN: "kube-token-111", DB_PASSWORD: "kube-db-222" });
    // Refused before anything is applied (the target is reached only for its reads).
    const { error } = await kubeReconcile(repo(), {}, { env: { SYSCONFIG_IDENTITY_FILE: "" } });
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain(`hello/API_TOKEN (master, encrypted to ${key.recipient})`);
    expect((await kubeRequest("GET", `/apis/apps/v1/namespaces/${ns.name}/deployments/hello`)).status).toBe(
      404,
    );
    expect((await kubeRequest("GET", `/api/v1/namespaces/${ns.name}/secrets/hello-secrets`)).status).toBe(
      404,
    );
  });

  it("with the identity: an owned Secret holds the values, the Deployment only secretKeyRefs", async () => {
    const run = await kubeReconcile(repo(), { identityFile: key.file });
    expect(run.error).toBeUndefined();
    const s = await secret();
    expect(decoded(s, "API_TOKEN")).toBe("kube-token-111");
    expect(decoded(s, "DB_PASSWORD")).toBe("kube-db-222");
    expect(s.metadata.labels?.["sysconfig.io/system"]).toBe("acme");
    expect(s.metadata.annotations?.["sysconfig.io/secret-fingerprints"]).toMatch(
      /^API_TOKEN=age:[0-9a-f]{16},DB_PASSWORD=age:[0-9a-f]{16}$/,
    );
    const d = await deployment();
    const text = JSON.stringify(d);
    expect(text).not.toContain("kube-token-111");
    expect(text).not.toContain("<secret");
    expect(d.spec.template.spec.containers[0]?.env).toEqual(
      expect.arrayContaining([
        { name: "API_TOKEN", valueFrom: { secretKeyRef: { name: "hello-secrets", key: "API_TOKEN" } } },
        { name: "GREETING", value: "hi" },
      ]),
    );
    expect(d.spec.template.metadata.annotations?.["sysconfig.io/secrets-checksum"]).toMatch(/^sha256:/);
    const shown = JSON.stringify(run.outcome?.changeSet.changes.map((c) => [c.desired?.text, c.notes]));
    expect(shown).not.toContain("kube-token-111");
  });

  it("plan without the identity: unchanged after apply; a new ciphertext is changed (encrypted) and rolls the Deployment", async () => {
    await settleDeployments(ns.name);
    const same = await kubeReconcile(repo(), { planOnly: true }, { env: { SYSCONFIG_IDENTITY_FILE: "" } });
    expect(same.error).toBeUndefined();
    expect(same.outcome?.changeSet.changes.map((c) => c.action)).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
    ]);

    const before = await deployment();
    await writeRepo({ API_TOKEN: "kube-token-333", DB_PASSWORD: "kube-db-222" });
    const planned = await kubeReconcile(repo(), { planOnly: true }, { env: { SYSCONFIG_IDENTITY_FILE: "" } });
    const changes = planned.outcome?.changeSet.changes ?? [];
    const secretChange = changes.find((c) => c.subject.endsWith("/Secret/" + ns.name + "/hello-secrets"));
    expect(secretChange?.action).toBe("update");
    expect(secretChange?.notes).toContain("secret API_TOKEN: changed (encrypted)");
    expect(secretChange?.notes).not.toContain("secret DB_PASSWORD: changed (encrypted)");
    expect(changes.find((c) => c.subject.includes("/Deployment/"))?.action).toBe("update");

    const applied = await kubeReconcile(repo(), { identityFile: key.file });
    expect(applied.error).toBeUndefined();
    expect(decoded(await secret(), "API_TOKEN")).toBe("kube-token-333");
    const after = await deployment();
    expect(after.metadata.generation).toBeGreaterThan(before.metadata.generation);
    expect(after.spec.template.metadata.annotations?.["sysconfig.io/secrets-checksum"]).not.toBe(
      before.spec.template.metadata.annotations?.["sysconfig.io/secrets-checksum"],
    );
    await settleDeployments(ns.name);
    const again = await kubeReconcile(repo(), { planOnly: true }, { env: { SYSCONFIG_IDENTITY_FILE: "" } });
    expect(again.outcome?.changeSet.changes.map((c) => c.action)).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
    ]);
  });
});
