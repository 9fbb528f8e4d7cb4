// Issue 19 on Kubernetes, as the shipped CronJob runs it: the config image of a config with an encrypted
// secret, started with `docker run --network host --read-only` as the CronJob's user, the service account's
// real token and ca.crt mounted at /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/
// PORT set, and the identity Secret mounted where cronjob.yaml mounts it (its env, args, mount path, user and
// file mode are read from the shipped file). The account holds only the shipped namespace, ServiceAccount and
// RoleBinding plus the Role `sysconfig rbac` prints for this config (RBAC enforced by the real apiserver).
// There is no kubelet: the test plays it (mounts, pod readiness).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { dockerClient } from "../cli/images/docker-engine.js";
import { LOCAL_NODE_IMAGE } from "../cli/images/reconciler-image.js";
import { sysconfigVersion } from "../cli/images/reconciler-image-name.js";
import { demuxLogs, exitCodeOf, git, removeContainer, removeImages } from "./helpers/build-fixtures.js";
import { ROOT, buildReconcilerImage, runCli } from "./helpers/cli.js";
import { kube, kubeRequest, markPodsReady, serviceAccountToken } from "./helpers/kube.js";
import { secretsYaml } from "./helpers/secret-config.js";
import { keygen } from "./helpers/secret-repos.js";
import { tempDir } from "./helpers/tmp.js";

const docker = dockerClient(process.env);
const id = randomBytes(4).toString("hex");
const system = `pod${id}`;
const ns = `pod-secrets-${id}`;
const reconciler = `sysconfig-pod-secrets-${id}/reconciler:${sysconfigVersion()}`;
const configImage = `sysconfig-pod-secrets-${id}/config`;
const DEPLOY = path.join(ROOT, "sysconfig-example/deploy/kubernetes");

interface PodSpec {
  serviceAccountName: string;
  securityContext: { runAsUser: number; runAsGroup: number; fsGroup: number };
  containers: {
    args: string[];
    env: { name: string; value?: string }[];
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    securityContext: { readOnlyRootFilesystem?: boolean };
  }[];
  volumes: { name: string; secret?: { secretName: string; defaultMode?: number; optional?: boolean } }[];
}

let dir: string;
let cleanup: () => Promise<void>;
let saDir: string;
let pod: PodSpec;
let key: { file: string; recipient: string };
let kubelet: NodeJS.Timeout | undefined;

/** A shipped deploy file's objects, moved into the test's namespace. */
async function deployFile(file: string): Promise<Record<string, unknown>[]> {
  const text = (await readFile(path.join(DEPLOY, file), "utf8")).replaceAll(
    "namespace: acme",
    `namespace: ${ns}`,
  );
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
}

async function create(collection: string, object: unknown): Promise<void> {
  const res = await kubeRequest("POST", collection, { body: object });
  if (res.status !== 201)
    throw new Error(`POST ${collection}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
}

/**
 * What the kubelet mounts for the CronJob's identity volume: the Secret's keys as files, `defaultMode`, group
 * fsGroup — or an empty directory when the optional Secret does not exist.
 */
async function mountIdentityVolume(target: string): Promise<void> {
  const volume = pod.volumes.find((v) => v.name === "identity")?.secret;
  if (!volume) throw new Error("cronjob.yaml has no identity volume");
  await mkdir(target, { recursive: true });
  await chmod(target, 0o755);
  const res = await kubeRequest<{ data?: Record<string, string> }>(
    "GET",
    `/api/v1/namespaces/${ns}/secrets/${volume.secretName}`,
  );
  if (res.status === 404 && volume.optional === true) return;
  for (const [name, value] of Object.entries(res.body.data ?? {})) {
    const file = path.join(target, name);
    await writeFile(file, Buffer.from(value, "base64"));
    await chown(file, 0, pod.securityContext.fsGroup);
    await chmod(file, volume.defaultMode ?? 0o644);
  }
}

/** One run of the config image as cronjob.yaml's container: its args, env, user, mounts, read-only root. */
async function runCronJobPod(identityDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const container = pod.containers[0];
  if (!container) throw new Error("cronjob.yaml has no container");
  const mountPath = container.volumeMounts.find((m) => m.name === "identity")?.mountPath;
  const env = container.env.map((e) => `${e.name}=${e.value ?? ""}`);
  const run = await docker.createContainer({
    Image: `${configImage}:master`,
    Cmd: container.args,
    User: `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
    Env: [...env, "KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=6443"],
    HostConfig: {
      NetworkMode: "host",
      ReadonlyRootfs: container.securityContext.readOnlyRootFilesystem === true,
      GroupAdd: [String(pod.securityContext.fsGroup)],
      Binds: [
        `${saDir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
        `${identityDir}:${mountPath ?? "/missing-mount"}:ro`,
      ],
    },
  });
  try {
    await run.start();
    const code = await exitCodeOf(run);
    const logs = await run.logs({ stdout: true, stderr: true, follow: false });
    const { stdout, stderr } = demuxLogs(logs);
    return { code, stdout, stderr };
  } finally {
    await removeContainer(run);
  }
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-pod-secrets-"));
  const cronjob = (await deployFile("cronjob.yaml"))[0] as {
    spec: { jobTemplate: { spec: { template: { spec: PodSpec } } } };
  };
  pod = cronjob.spec.jobTemplate.spec.template.spec;
  key = await keygen(path.join(dir, "master.key"));

  // The config repo: one service with an encrypted value (ciphertext from the real age CLI), on master.
  const repo = path.join(dir, "repo");
  await mkdir(repo);
  await git(repo, "init", "-q", "-b", "master");
  await writeFile(
    path.join(repo, "sysconfig.yaml"),
    `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  master:
    target: { kind: kubernetes, namespace: ${ns} }
    secrets:
      recipients: [${key.recipient}]
services:
  hello:
    image: 127.0.0.1:5000/${system}/hello
    tag: 1-master
    ports: [{ container: 8080 }]
    env: { GREETING: hi }
${secretsYaml("master", key.recipient, { DB_PASSWORD: "in-pod-db-password" })}`,
  );
  const render = await runCli(["render", "--repo", repo, "--environment", "master"]);
  if (render.code !== 0) throw new Error(`render failed: ${render.stderr}`);
  await git(repo, "add", "-A");
  await git(repo, "commit", "-qm", "a service with an encrypted secret");
  await buildReconcilerImage(reconciler, LOCAL_NODE_IMAGE);
  const build = await runCli([
    "build",
    "--repo",
    repo,
    "--image",
    configImage,
    "--base",
    reconciler,
    "--build-num",
    "1",
  ]);
  if (build.code !== 0) throw new Error(`sysconfig build failed (${build.code}): ${build.stderr}`);

  // The shipped namespace, ServiceAccount and RoleBinding, and the Role `sysconfig rbac` prints.
  const namespace = (await deployFile("namespace.yaml"))[0] as { metadata: Record<string, unknown> };
  await create("/api/v1/namespaces", { ...namespace, metadata: { ...namespace.metadata, name: ns } });
  for (const object of await deployFile("serviceaccount.yaml"))
    await create(`/api/v1/namespaces/${ns}/serviceaccounts`, object);
  const rbac = await runCli(["rbac", "--repo", repo, "--environment", "master"]);
  if (rbac.code !== 0) throw new Error(`sysconfig rbac failed: ${rbac.stderr}`);
  for (const object of parseAllDocuments(rbac.stdout).map((d) => d.toJS() as { kind: string })) {
    if (object.kind !== "Role") throw new Error(`unexpected ${object.kind} in sysconfig rbac's output`);
    await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, object);
  }
  for (const object of await deployFile("rolebinding.yaml"))
    await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, object);

  // The pod's service-account mount: the token 1.20 puts in a Secret, and the cluster CA.
  const sa = await serviceAccountToken(ns, pod.serviceAccountName);
  saDir = path.join(dir, "serviceaccount");
  await mkdir(saDir);
  await writeFile(path.join(saDir, "token"), sa.token);
  await writeFile(path.join(saDir, "ca.crt"), sa.caCrt);
  await writeFile(path.join(saDir, "namespace"), ns);
  for (const f of ["token", "ca.crt", "namespace"]) await chmod(path.join(saDir, f), 0o644);
  await chmod(saDir, 0o755);
}, 600_000);

afterAll(async () => {
  if (kubelet) clearInterval(kubelet);
  await kubeRequest("DELETE", `/api/v1/namespaces/${ns}`);
  const images = await docker.listImages({ filters: { reference: [configImage] } });
  await removeImages(docker, [reconciler, ...images.flatMap((i) => i.RepoTags ?? [])]);
  await cleanup();
});

describe("the shipped CronJob's run inside the cluster, with a mounted identity and the shipped RBAC", () => {
  it("without the identity Secret (the optional volume mounts empty): exit 3 naming the secret, nothing applied", async () => {
    const identityDir = path.join(dir, "identity-missing");
    await mountIdentityVolume(identityDir);
    const run = await runCronJobPod(identityDir);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`hello/DB_PASSWORD (master, encrypted to ${key.recipient})`);
    expect(run.stderr).not.toMatch(/forbidden|HTTP 403/i);
    for (const p of [`/apis/apps/v1/namespaces/${ns}/deployments`, `/api/v1/namespaces/${ns}/services`]) {
      const list = await kube<{ items: unknown[] }>(
        "GET",
        `${p}?labelSelector=sysconfig.io%2Fsystem%3D${system}`,
      );
      expect(list.items).toEqual([]);
    }
    expect((await kubeRequest("GET", `/api/v1/namespaces/${ns}/secrets/hello-secrets`)).status).toBe(404);
  }, 180_000);

  it("with the identity Secret mounted: the owned Secret holds the value, the Deployment refers to it by secretKeyRef", async () => {
    // kubectl -n NS create secret generic sysconfig-identity --from-file=key.txt=master.key, as cronjob.yaml says.
    const identityFile =
      pod.containers[0]?.env.find((e) => e.name === "SYSCONFIG_IDENTITY_FILE")?.value ?? "";
    await create(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: pod.volumes.find((v) => v.name === "identity")?.secret?.secretName },
      data: { [path.basename(identityFile)]: (await readFile(key.file)).toString("base64") },
    });
    const identityDir = path.join(dir, "identity");
    await mountIdentityVolume(identityDir);
    kubelet = setInterval(
      () => void markPodsReady(ns, `app.kubernetes.io/part-of=${system}`).catch(() => undefined),
      300,
    );
    const run = await runCronJobPod(identityDir);
    expect(run.stderr).not.toMatch(/forbidden|HTTP 403/i);
    expect({ code: run.code, output: run.code === 0 ? "" : run.stdout + run.stderr }).toEqual({
      code: 0,
      output: "",
    });
    expect(run.stdout).toContain(`+ create kubernetes:v1/Secret/${ns}/hello-secrets`);
    expect(run.stdout).not.toContain("in-pod-db-password");

    const secret = await kube<{ data: Record<string, string>; metadata: { labels: Record<string, string> } }>(
      "GET",
      `/api/v1/namespaces/${ns}/secrets/hello-secrets`,
    );
    expect(Buffer.from(secret.data.DB_PASSWORD ?? "", "base64").toString("utf8")).toBe("in-pod-db-password");
    expect(secret.metadata.labels["sysconfig.io/system"]).toBe(system);
    const deployment = await kube<{
      spec: { template: { spec: { containers: { env: unknown[] }[] } } };
    }>("GET", `/apis/apps/v1/namespaces/${ns}/deployments/hello`);
    expect(JSON.stringify(deployment)).not.toContain("in-pod-db-password");
    expect(deployment.spec.template.spec.containers[0]?.env).toEqual(
      expect.arrayContaining([
        { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "hello-secrets", key: "DB_PASSWORD" } } },
      ]),
    );
  }, 300_000);
});
