// Kubeconfig users as real clusters hand them out, each against the real API server: a CA file and a
// token file relative to the kubeconfig's directory, an inline token, an exec credential plugin (run by
// @kubernetes/client-node, loaded only for it), and the mistakes: a wrong token, a missing CA file.
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../reconciler/errors.js";
import { resolveConnection } from "../reconciler/targets/kubernetes/endpoint.js";
import { KubernetesClient } from "../reconciler/targets/kubernetes/client.js";
import { KUBE, adminToken } from "./helpers/kube.js";
import { tempDir } from "./helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-kubeconfig-"));
  await mkdir(path.join(dir, "creds"));
  await copyFile(KUBE.caFile, path.join(dir, "creds", "ca.crt"));
  await writeFile(path.join(dir, "creds", "token"), `${adminToken()}\n`);
});
afterAll(() => cleanup());

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster: { server: KUBE.server, ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    "current-context": "ctx",
  });
}

/** GET /api/v1/namespaces/default through a connection from kubeconfig FILE: its HTTP status. */
async function namespaceStatus(file: string): Promise<number> {
  const connection = await resolveConnection({ kubeconfig: file, env: {} });
  const client = new KubernetesClient(connection, { retries: 0 });
  try {
    const res = await client.request("GET", "/api/v1/namespaces/default", { accept: [401, 403] });
    return res.status;
  } finally {
    client.close();
  }
}

it("reads the CA and token files relative to the kubeconfig's own directory", async () => {
  const file = path.join(dir, "relative.yaml");
  await writeFile(
    file,
    kubeconfig({ "certificate-authority": "creds/ca.crt" }, { tokenFile: "creds/token" }),
  );
  expect(await namespaceStatus(file)).toBe(200);
});

it("sends an inline token, and a wrong one is refused by the server (401), not ignored", async () => {
  const ca = { "certificate-authority": path.join(dir, "creds", "ca.crt") };
  const good = path.join(dir, "inline.yaml");
  await writeFile(good, kubeconfig(ca, { token: adminToken() }));
  expect(await namespaceStatus(good)).toBe(200);
  const bad = path.join(dir, "wrong.yaml");
  await writeFile(bad, kubeconfig(ca, { token: "not-the-token" }));
  expect(await namespaceStatus(bad)).toBe(401);
});

it("runs an exec credential plugin (through @kubernetes/client-node) for its token", async () => {
  const plugin = path.join(dir, "creds", "plugin.sh");
  const credential = JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1beta1",
    kind: "ExecCredential",
    status: { token: adminToken() },
  });
  await writeFile(plugin, `#!/bin/sh\ncat <<'JSON'\n${credential}\nJSON\n`, { mode: 0o755 });
  const file = path.join(dir, "exec.yaml");
  await writeFile(
    file,
    kubeconfig(
      { "certificate-authority": "creds/ca.crt" },
      { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: plugin } },
    ),
  );
  expect(await namespaceStatus(file)).toBe(200);
});

it("names a CA file that cannot be read (exit 3)", async () => {
  const file = path.join(dir, "missing-ca.yaml");
  await writeFile(file, kubeconfig({ "certificate-authority": "creds/nope.crt" }, { token: "t" }));
  const error = (await resolveConnection({ kubeconfig: file, env: {} }).catch((e: unknown) => e)) as Error & {
    exitCode: number;
  };
  expect(error.exitCode).toBe(3);
  expect(error.message).toContain(
    `certificate-authority ${path.join(dir, "creds", "nope.crt")} cannot be read`,
  );
});

it("a kubeconfig that is not valid YAML is exit 3 naming the file and the line, never quoting its token", async () => {
  const file = path.join(dir, "broken.yaml");
  const token = "s3cr3t-token-value-0123456789";
  await writeFile(
    file,
    `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ${token}\n  bad: [unclosed\n`,
  );
  const error = await resolveConnection({ kubeconfig: file, env: {} }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidInputError);
  expect((error as Error).message).toMatch(new RegExp(`kubeconfig ${file} cannot be read: .*line`));
  expect((error as Error).message).not.toContain(token);
});
