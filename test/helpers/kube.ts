// The real Kubernetes control plane started by scripts/kubernetes.sh (v1.20.2 on https://127.0.0.1:6443,
// no scheduler or kubelet): its files, admin and service-account credentials, test namespaces, and
// the workload status a kubelet would report, written from the test.
import https from "node:https";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const STATE = process.env.SYSCONFIG_SERVICES_DIR ?? "/var/lib/sysconfig-services";

export const KUBE = {
  server: "https://127.0.0.1:6443",
  version: "v1.20.2",
  binDir: `${STATE}/kubernetes/v1.20.2/bin`,
  kubeconfig: `${STATE}/kubernetes/admin.kubeconfig`,
  caFile: `${STATE}/kubernetes/pki/ca.crt`,
  adminTokenFile: `${STATE}/kubernetes/admin.token`,
  serverCertFile: `${STATE}/kubernetes/pki/apiserver.crt`,
  serverKeyFile: `${STATE}/kubernetes/pki/apiserver.key`,
} as const;

export function adminToken(): string {
  return readFileSync(KUBE.adminTokenFile, "utf8").trim();
}

export interface Credentials {
  token: string;
  /** Defaults to the apiserver; a fault proxy's URL to go through it. */
  server?: string;
  namespace?: string;
}

/** A kubeconfig document (YAML is a superset of JSON) for a token, trusting the test CA. */
export function kubeconfigText({ token, server = KUBE.server, namespace = "default" }: Credentials): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "sysconfig-test",
        cluster: { server, "certificate-authority-data": readFileSync(KUBE.caFile).toString("base64") },
      },
    ],
    users: [{ name: "test-user", user: { token } }],
    contexts: [
      { name: "sysconfig-test", context: { cluster: "sysconfig-test", user: "test-user", namespace } },
    ],
    "current-context": "sysconfig-test",
  });
}

export interface KubeResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** One raw API request (admin unless a token is given); the status is returned, never thrown. */
export function kubeRequest<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; token?: string; server?: string } = {},
): Promise<KubeResponse<T>> {
  const url = new URL(path, options.server ?? KUBE.server);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: readFileSync(KUBE.caFile),
        headers: {
          authorization: `Bearer ${options.token ?? adminToken()}`,
          accept: "application/json",
          ...(payload === undefined ? {} : { "content-type": options.contentType ?? "application/json" }),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON (e.g. /readyz): keep the text.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url.href}: no answer within 30 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Like kubeRequest, but a status outside 2xx is an error naming the request and the server's message. */
export async function kube<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: Parameters<typeof kubeRequest>[2] = {},
): Promise<T> {
  const res = await kubeRequest<T>(method, path, options);
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${method} ${path}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A fresh namespace; cleanup deletes it with everything in it (the namespace controller does the rest). */
export async function testNamespace(
  prefix = "test",
): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`;
  await kube("POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
  });
  return {
    name,
    cleanup: async () => {
      await kubeRequest("DELETE", `/api/v1/namespaces/${name}`);
    },
  };
}

export interface ServiceAccountCredentials {
  token: string;
  /** The test CA, as a pod finds it in /var/run/secrets/kubernetes.io/serviceaccount/ca.crt. */
  caCrt: string;
  namespace: string;
}

/**
 * A ServiceAccount (created if absent) and its token, as a pod would have them mounted. Kubernetes 1.20's
 * controller-manager puts the token into a Secret of type kubernetes.io/service-account-token.
 */
export async function serviceAccountToken(
  namespace: string,
  name: string,
): Promise<ServiceAccountCredentials> {
  const created = await kubeRequest("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
  });
  if (created.status !== 201 && created.status !== 409) {
    throw new Error(`creating service account ${namespace}/${name}: HTTP ${created.status}`);
  }
  const secret = await until(`the token Secret of service account ${namespace}/${name}`, async () => {
    const list = await kube<{
      items: {
        type: string;
        metadata: { annotations?: Record<string, string> };
        data?: Record<string, string>;
      }[];
    }>(
      "GET",
      `/api/v1/namespaces/${namespace}/secrets?fieldSelector=type%3Dkubernetes.io%2Fservice-account-token`,
    );
    return list.items.find(
      (s) => s.metadata.annotations?.["kubernetes.io/service-account.name"] === name && s.data?.token,
    );
  });
  const data = secret.data ?? {};
  return {
    token: Buffer.from(data.token ?? "", "base64").toString("utf8"),
    caCrt: Buffer.from(data["ca.crt"] ?? "", "base64").toString("utf8"),
    namespace,
  };
}

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

const RESOURCE: Record<WorkloadKind, string> = {
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  DaemonSet: "daemonsets",
};

/**
 * Merge-patches a workload's status through the status subresource. Its controller recomputes the status
 * from ReplicaSets and pods on its next sync (within seconds) and overwrites what was written: to make a
 * rollout really progress, report its pods ready (markPodsReady, completeRollout) instead.
 */
export function writeWorkloadStatus(
  kind: WorkloadKind,
  namespace: string,
  name: string,
  status: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return kube("PATCH", `/apis/apps/v1/namespaces/${namespace}/${RESOURCE[kind]}/${name}/status`, {
    body: { status },
    contentType: "application/merge-patch+json",
  });
}

interface PodList {
  items: {
    metadata: { name: string };
    status?: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

/**
 * Reports one pod Running and Ready, as its kubelet would. False when the pod is gone: the controller may
 * delete it between a list and this patch (a rollout scaling the old ReplicaSet down), and then it needs
 * no kubelet any more.
 */
export async function markPodReady(namespace: string, name: string): Promise<boolean> {
  const now = new Date().toISOString();
  const res = await kubeRequest("PATCH", `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    contentType: "application/merge-patch+json",
    body: {
      status: {
        phase: "Running",
        startTime: now,
        conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({
          type,
          status: "True",
          lastTransitionTime: now,
        })),
      },
    },
  });
  if (res.status === 404) return false;
  if (res.status < 200 || res.status > 299) {
    throw new Error(`PATCH pod ${namespace}/${name}/status: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return true;
}

/**
 * Reports the pods matching a label selector as Running and Ready, as a kubelet would. The ReplicaSet,
 * StatefulSet and DaemonSet controllers then count them, so the workload's rollout really completes.
 * Returns how many pods it marked (pods already ready are left alone).
 */
export async function markPodsReady(namespace: string, labelSelector: string): Promise<number> {
  const pods = await kube<PodList>(
    "GET",
    `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`,
  );
  let marked = 0;
  for (const pod of pods.items) {
    const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (ready && pod.status?.phase === "Running") continue;
    if (await markPodReady(namespace, pod.metadata.name)) marked += 1;
  }
  return marked;
}

interface Workload {
  metadata: { generation?: number };
  spec: { replicas?: number; selector: { matchLabels?: Record<string, string> } };
  status?: Record<string, number | string | undefined>;
}

/** What `kubectl rollout status` waits for, per kind. */
function rolledOut(kind: WorkloadKind, w: Workload): boolean {
  // Counts that are 0 are left out of the status entirely.
  const n = (field: string) => Number(w.status?.[field] ?? 0);
  if (n("observedGeneration") < (w.metadata.generation ?? 0)) return false;
  const want = w.spec.replicas ?? 1;
  switch (kind) {
    case "Deployment":
      return n("updatedReplicas") === want && n("replicas") === want && n("availableReplicas") === want;
    case "StatefulSet":
      return (
        n("readyReplicas") === want &&
        n("updatedReplicas") === want &&
        w.status?.currentRevision === w.status?.updateRevision
      );
    case "DaemonSet":
      return (
        n("updatedNumberScheduled") === n("desiredNumberScheduled") &&
        n("numberAvailable") === n("desiredNumberScheduled")
      );
  }
}

/**
 * Plays the kubelet until a workload has rolled out: reports its pods ready as its controller creates
 * them (a StatefulSet creates them one at a time), until the status says the rollout is complete.
 */
export async function completeRollout(
  kind: WorkloadKind,
  namespace: string,
  name: string,
  timeoutMs = 60_000,
): Promise<Workload> {
  const path = `/apis/apps/v1/namespaces/${namespace}/${RESOURCE[kind]}/${name}`;
  return until(
    `${kind} ${namespace}/${name} to roll out`,
    async () => {
      const workload = await kube<Workload>("GET", path);
      if (rolledOut(kind, workload)) return workload;
      const labels = Object.entries(workload.spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
      await markPodsReady(namespace, labels.join(","));
      return undefined;
    },
    timeoutMs,
  );
}

/**
 * Plays the kubelet for every Deployment in a namespace: its pods are reported ready until each rollout
 * completes. Without a kubelet no Deployment ever becomes available, and a Deployment that is not
 * available is not converged (the plan shows it unhealthy, no prune runs), so tests that reconcile
 * again settle the namespace first, as a cluster would by itself.
 */
export async function settleDeployments(namespace: string): Promise<void> {
  const list = await kube<{ items: { metadata: { name: string } }[] }>(
    "GET",
    `/apis/apps/v1/namespaces/${namespace}/deployments`,
  );
  for (const item of list.items) await completeRollout("Deployment", namespace, item.metadata.name);
}
