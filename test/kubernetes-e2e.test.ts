// End to end on Kubernetes (issue 11 item 4) as a pod runs it: the config image built by `sysconfig
// build` started with `docker run --network host --read-only`, the service account's real token, ca.crt
// and namespace mounted at /var/run/secrets/kubernetes.io/serviceaccount and KUBERNETES_SERVICE_HOST/PORT
// set, against the real apiserver. The service account has only what sysconfig-example/deploy/kubernetes
// grants (RBAC enforced). The test plays the kubelet: it marks pods Running and Ready, and the real
// ReplicaSet and Deployment controllers complete the rollouts.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments, parseDocument } from "yaml";
import { dockerClient } from "../cli/images/docker-engine.js";
import { LOCAL_NODE_IMAGE } from "../cli/images/reconciler-image.js";
import { sysconfigVersion } from "../cli/images/reconciler-image-name.js";
import {
  git,
  initConfigRepo,
  removeImages,
  exitCodeOf,
  removeContainer,
  demuxLogs,
} from "./helpers/build-fixtures.js";
import { ROOT, buildReconcilerImage, runCli } from "./helpers/cli.js";
import { identityBind, identityEnv } from "./helpers/demo-identity.js";
import { kube, kubeRequest, markPodsReady, serviceAccountToken, until } from "./helpers/kube.js";
import { freePort } from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const docker = dockerClient(process.env);
const id = randomBytes(4).toString("hex");
const reconciler = `sysconfig-e2e-k8s-${id}/reconciler:${sysconfigVersion()}`;
const configImage = `sysconfig-e2e-k8s-${id}/config`;
const ns = `acme-e2e-${id}`;
const DEPLOY = path.join(ROOT, "sysconfig-example/deploy/kubernetes");
/** role.yaml's ClusterRole and its binding (the example renders a CRD), named for this test. */
const clusterRbac = `sysconfig-acme-e2e-${id}`;

let dir: string;
let repo: string;
let saDir: string;
let cleanup: () => Promise<void>;
let kubelet: NodeJS.Timeout | undefined;

/** Edits sysconfig.yaml on master, re-renders, commits and builds the config image (:master). */
async function change(edit: (doc: ReturnType<typeof parseDocument>) => void, message: string): Promise<void> {
  const file = path.join(repo, "sysconfig.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  edit(doc);
  await writeFile(file, doc.toString());
  const render = await runCli(["render", "--repo", repo]);
  if (render.code !== 0) throw new Error(`render failed: ${render.stderr}`);
  await git(repo, "add", "-A");
  await git(repo, "commit", "-qm", message);
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
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The config image as the CronJob's pod runs it; `onStart` gets the container (to kill it). */
async function runPod(
  args: string[] = [],
  onStart?: (kill: () => Promise<void>, logs: () => Promise<string>) => void,
): Promise<Run> {
  const container = await docker.createContainer({
    Image: `${configImage}:master`,
    Cmd: ["reconcile", "--timeout", "60", ...args],
    Env: ["NO_COLOR=1", "KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=6443", identityEnv],
    HostConfig: {
      NetworkMode: "host",
      ReadonlyRootfs: true,
      Binds: [`${saDir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`, identityBind],
    },
  });
  try {
    await container.start();
    onStart?.(
      () => container.kill({ signal: "SIGKILL" }),
      async () => {
        const logs = await container
          .logs({ stdout: true, stderr: true, follow: false })
          .catch(() => undefined);
        if (!logs) return "";
        const { stdout, stderr } = demuxLogs(logs);
        return stdout + stderr;
      },
    );
    const StatusCode = await exitCodeOf(container);
    return {
      code: StatusCode,
      ...demuxLogs(await container.logs({ stdout: true, stderr: true, follow: false })),
    };
  } finally {
    await removeContainer(container);
  }
}

/** Plays the kubelet for the namespace: pods the controllers create are reported Running and Ready. */
function startKubelet(): void {
  stopKubelet();
  kubelet = setInterval(
    () => void markPodsReady(ns, "app.kubernetes.io/part-of=acme").catch(() => undefined),
    300,
  );
}
function stopKubelet(): void {
  if (kubelet) clearInterval(kubelet);
  kubelet = undefined;
}

interface Live {
  metadata: { labels?: Record<string, string>; generation: number };
  spec: { replicas?: number; template: { spec: { containers: { image: string }[] } } };
}
const getDeployment = (name: string) =>
  kube<Live>("GET", `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
const subject = (kind: string, name: string) =>
  `kubernetes:${kind === "Service" ? "v1" : "apps/v1"}/${kind}/${ns}/${name}`;

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
}

/** Applies one deploy file as the admin, moved into the test's namespace (cluster-wide names get the test's id). */
async function applyDeployFile(file: string, edit: (object: Manifest) => Manifest = (o) => o) {
  const text = (await readFile(path.join(DEPLOY, file), "utf8"))
    .replaceAll("namespace: acme", `namespace: ${ns}`)
    .replaceAll("name: sysconfig-acme", `name: ${clusterRbac}`);
  for (const doc of parseAllDocuments(text)) {
    const object = edit(doc.toJS() as Manifest);
    const kind = object.kind;
    const base =
      kind === "ClusterRole" || kind === "ClusterRoleBinding"
        ? `/apis/rbac.authorization.k8s.io/v1/${kind.toLowerCase()}s`
        : kind === "Namespace"
          ? "/api/v1/namespaces"
          : kind === "ServiceAccount"
            ? `/api/v1/namespaces/${ns}/serviceaccounts`
            : kind === "Role"
              ? `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`
              : kind === "RoleBinding"
                ? `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`
                : `/apis/${object.apiVersion}/namespaces/${ns}/cronjobs`;
    const res = await kubeRequest("POST", base, { body: object });
    if (res.status !== 201)
      throw new Error(`applying ${file}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
}

beforeAll(async () => {
  const tmp = await tempDir("sysconfig-e2e-k8s-");
  dir = tmp.dir;
  cleanup = tmp.cleanup;
  await buildReconcilerImage(reconciler, LOCAL_NODE_IMAGE);
  await applyDeployFile("namespace.yaml", (o) => ({ ...o, metadata: { ...o.metadata, name: ns } }));
  for (const file of ["serviceaccount.yaml", "role.yaml", "rolebinding.yaml"]) await applyDeployFile(file);
  // The pod's view: token, CA and namespace files readable by the image's non-root user.
  const sa = await serviceAccountToken(ns, "sysconfig");
  saDir = path.join(dir, "serviceaccount");
  await mkdir(saDir);
  await writeFile(path.join(saDir, "token"), sa.token);
  await writeFile(path.join(saDir, "ca.crt"), sa.caCrt);
  await writeFile(path.join(saDir, "namespace"), ns);
  for (const f of ["token", "ca.crt", "namespace"]) await chmod(path.join(saDir, f), 0o644);
  await chmod(saDir, 0o755);
  repo = path.join(dir, "acme");
  await initConfigRepo(repo);
  await git(repo, "checkout", "-q", "master");
  await change(
    (doc) => doc.setIn(["environments", "master", "target", "namespace"], ns),
    "namespace for the test",
  );
}, 300_000);

afterAll(async () => {
  stopKubelet();
  await kubeRequest("DELETE", `/api/v1/namespaces/${ns}`);
  // Cluster-scoped: the example's CRD (hello renders it) and the ClusterRole that let it.
  await kubeRequest(
    "DELETE",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/greetings.acme.example.com",
  );
  for (const kind of ["clusterrolebindings", "clusterroles"])
    await kubeRequest("DELETE", `/apis/rbac.authorization.k8s.io/v1/${kind}/${clusterRbac}`);
  const images = await docker.listImages({ filters: { reference: [configImage] } });
  await removeImages(docker, [reconciler, ...images.flatMap((i) => i.RepoTags ?? [])]);
  await cleanup();
});

describe("docker run of a kubernetes config image with the deploy files' service account", () => {
  it("applies the master environment, waits for the rollouts, and a second run is a no-op", async () => {
    startKubelet();
    const first = await runPod();
    expect(first.stderr).not.toMatch(/forbidden|HTTP 403/i);
    expect(first.code).toBe(0);
    for (const name of ["hello", "worker", "legacy-api"])
      expect(first.stdout).toContain(`+ create ${subject("Deployment", name)}`);
    expect(first.stdout).toContain(`+ create ${subject("Service", "hello")}`);
    // hello's Ingress, HPA, NetworkPolicy and Greeting (after its CRD), worker's PDB at the version 1.20 serves.
    for (const line of [
      "+ create kubernetes:apiextensions.k8s.io/v1/CustomResourceDefinition/greetings.acme.example.com",
      `+ create kubernetes:acme.example.com/v1/Greeting/${ns}/hello`,
      `+ create kubernetes:networking.k8s.io/v1/Ingress/${ns}/hello`,
      `+ create kubernetes:autoscaling/v1/HorizontalPodAutoscaler/${ns}/hello`,
      `+ create kubernetes:networking.k8s.io/v1/NetworkPolicy/${ns}/hello`,
      `+ create kubernetes:policy/v1beta1/PodDisruptionBudget/${ns}/worker`,
      // hello's API_TOKEN, decrypted in the pod with the mounted identity, in the Secret sysconfig owns
      `+ create kubernetes:v1/Secret/${ns}/hello-secrets`,
    ])
      expect(first.stdout).toContain(line);
    expect(first.stdout).toMatch(/Result: 11 healthy/);
    const hello = await getDeployment("hello");
    expect(hello.metadata.labels?.["sysconfig.io/system"]).toBe("acme");
    // the example's master value, decrypted in the pod with the mounted identity (demo/identities/demo.key)
    const secret = await kube<{ data: Record<string, string> }>(
      "GET",
      `/api/v1/namespaces/${ns}/secrets/hello-secrets`,
    );
    expect(Buffer.from(secret.data.API_TOKEN ?? "", "base64").toString()).toBe("acme-master-api-token");

    const second = await runPod();
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("No changes");
  }, 180_000);

  it("serve.yaml is accepted by the apiserver, and its Deployment's args run the config image as `serve` on the cluster", async () => {
    const text = (await readFile(path.join(DEPLOY, "serve.yaml"), "utf8")).replaceAll(
      "namespace: acme",
      `namespace: ${ns}`,
    );
    const collections: Record<string, string> = {
      Secret: `/api/v1/namespaces/${ns}/secrets`,
      Deployment: `/apis/apps/v1/namespaces/${ns}/deployments`,
      Service: `/api/v1/namespaces/${ns}/services`,
    };
    for (const doc of parseAllDocuments(text)) {
      const object = doc.toJS() as Manifest;
      if (object.kind === "ServiceAccount") continue; // the one serviceaccount.yaml made, identical
      const res = await kubeRequest("POST", collections[object.kind] ?? "/unknown", { body: object });
      expect({ kind: object.kind, status: res.status }).toEqual({ kind: object.kind, status: 201 });
    }
    const deployment = await kube<{
      spec: { template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } } };
    }>("GET", `/apis/apps/v1/namespaces/${ns}/deployments/sysconfig-serve`);
    expect(deployment.spec.template.spec.serviceAccountName).toBe("sysconfig");
    // The pod's args, with the listen address on a free loopback port (the container shares the host's
    // network) and the webhook secret mounted where the Deployment mounts its Secret.
    const args = [...(deployment.spec.template.spec.containers[0]?.args ?? [])];
    expect(args[0]).toBe("serve");
    const port = await freePort();
    args[args.indexOf("--listen") + 1] = `127.0.0.1:${port}`;
    const secretDir = path.join(dir, "serve-secret");
    await mkdir(secretDir, { recursive: true });
    await writeFile(path.join(secretDir, "webhook-secret"), "e2e-webhook-secret", { mode: 0o644 });
    await chmod(secretDir, 0o755);
    const container = await docker.createContainer({
      Image: `${configImage}:master`,
      Cmd: args,
      Env: ["NO_COLOR=1", "KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=6443", identityEnv],
      HostConfig: {
        NetworkMode: "host",
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "" },
        Binds: [
          `${saDir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
          `${secretDir}:/etc/sysconfig-serve:ro`,
          identityBind,
        ],
      },
    });
    try {
      await container.start();
      const status = await until(
        "serve's first run on the cluster",
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/status`).catch(() => undefined);
          if (!res?.ok) return undefined;
          const body = (await res.json()) as {
            webhook: { enabled: boolean };
            lastRun: { result: string; plan?: { summary?: Record<string, number> } } | null;
          };
          return body.lastRun ? body : undefined;
        },
        90_000,
      );
      expect(status.webhook.enabled).toBe(true);
      expect(status.lastRun?.result).toBe("success"); // RBAC allowed everything serve needed
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      await container.kill({ signal: "SIGTERM" });
      const StatusCode = await exitCodeOf(container);
      expect(StatusCode).toBe(0);
    } finally {
      await removeContainer(container);
    }
  }, 180_000);

  it("updates only what a bump changed, waiting for its rollout", async () => {
    await change(
      (doc) => doc.setIn(["services", "hello", "tag"], "2-master"),
      "Updating hello tag to '2-master'",
    );
    const run = await runPod();
    expect({ code: run.code, output: run.code === 0 ? "" : run.stdout + run.stderr }).toEqual({
      code: 0,
      output: "",
    });
    expect(run.stdout).toContain(`~ update ${subject("Deployment", "hello")}`);
    expect(run.stdout).toMatch(/Result: 1 healthy, 0 applied/);
    expect(run.stdout).not.toContain(`~ update ${subject("Deployment", "worker")}`);
    expect((await getDeployment("hello")).spec.template.spec.containers[0]?.image).toBe(
      "127.0.0.1:5000/acme/hello:2-master",
    );
  }, 180_000);

  it("corrects a field changed by hand", async () => {
    await kube("PATCH", `/apis/apps/v1/namespaces/${ns}/deployments/worker?fieldManager=kubectl-edit`, {
      body: { spec: { replicas: 7 } },
      contentType: "application/merge-patch+json",
    });
    const run = await runPod();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("drift: spec.replicas is 7, sysconfig sets 3");
    expect((await getDeployment("worker")).spec.replicas).toBe(3);
  }, 180_000);

  it("prunes a removed service and leaves an unlabelled object with a wanted name alone", async () => {
    await kube("POST", `/api/v1/namespaces/${ns}/services`, {
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "cache" },
        spec: { ports: [{ port: 6379, protocol: "TCP" }] },
      },
    });
    await change((doc) => {
      doc.deleteIn(["services", "legacy-api"]);
      doc.setIn(
        ["services", "cache"],
        doc.createNode({ image: "127.0.0.1:5000/acme/cache", tag: "1-master", ports: [{ container: 6379 }] }),
      );
    }, "remove legacy-api, add cache");
    const run = await runPod();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`! conflict ${subject("Service", "cache")}`);
    expect(run.stdout).toContain("conflict");
    const svc = await kube<{ metadata: { labels?: Record<string, string> } }>(
      "GET",
      `/api/v1/namespaces/${ns}/services/cache`,
    );
    expect(svc.metadata.labels).toBeUndefined();
    // Prune waits for a converged sync: with the conflict gone, the removed service is deleted.
    await kube("DELETE", `/api/v1/namespaces/${ns}/services/cache`);
    const again = await runPod();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`- delete ${subject("Deployment", "legacy-api")}`);
    expect((await kubeRequest("GET", `/apis/apps/v1/namespaces/${ns}/deployments/legacy-api`)).status).toBe(
      404,
    );
  }, 240_000);

  it("converges on the next run after a run is killed mid-apply", async () => {
    stopKubelet(); // the hello rollout cannot finish: the run is killed while it waits
    await change((doc) => {
      doc.setIn(["services", "hello", "tag"], "3-master");
      doc.setIn(["services", "worker", "tag"], "3-master");
    }, "bump hello and worker");
    const killed = await runPod([], (kill, logs) => {
      void until(
        "the hello update",
        async () =>
          (await logs()).includes(`~ update ${subject("Deployment", "hello")} …`) ? true : undefined,
        60_000,
      )
        .then(() => new Promise((r) => setTimeout(r, 500)))
        .then(kill);
    });
    expect(killed.code).toBe(137);
    // worker depends on hello: not applied yet.
    expect((await getDeployment("worker")).spec.template.spec.containers[0]?.image).toBe(
      "127.0.0.1:5000/acme/worker:1-master",
    );
    startKubelet();
    // The killed run's Lease expires (30 s) — the next run waits for it.
    const next = await runPod(["--wait-lock", "--lock-timeout", "60"]);
    expect(next.code).toBe(0);
    expect((await getDeployment("worker")).spec.template.spec.containers[0]?.image).toBe(
      "127.0.0.1:5000/acme/worker:3-master",
    );
    const after = await runPod();
    expect(after.stdout).toContain("No changes");
  }, 240_000);

  it("refuses a mass delete and deletes nothing", async () => {
    await change((doc) => {
      doc.deleteIn(["services", "worker"]);
      doc.deleteIn(["services", "cache"]);
    }, "remove most services");
    const run = await runPod();
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/--allow-mass-delete/);
    expect((await getDeployment("worker")).metadata.generation).toBeGreaterThan(0);
  }, 180_000);

  it("the CronJob of the deploy files is accepted by the apiserver (as batch/v1beta1 on 1.20)", async () => {
    await applyDeployFile("cronjob.yaml", (o) => ({ ...o, apiVersion: "batch/v1beta1" }));
    const cron = await kube<{
      spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName: string } } } } };
    }>("GET", `/apis/batch/v1beta1/namespaces/${ns}/cronjobs/sysconfig`);
    expect(cron.spec.jobTemplate.spec.template.spec.serviceAccountName).toBe("sysconfig");
  });
});
