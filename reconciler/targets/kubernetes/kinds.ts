// The kinds sysconfig manages on Kubernetes: where each lives in the API, whether it is namespaced,
// and its apply rank (DESIGN §6 order: namespaces and CRDs, then config, then Services, then workloads).
// Only APIs that current clusters serve (v1, apps/v1, batch/v1, rbac/v1, apiextensions/v1, …).

export interface KindInfo {
  apiVersion: string;
  kind: string;
  /** The resource name in URLs, e.g. `deployments`. */
  plural: string;
  namespaced: boolean;
  /** Lower ranks are applied first and deleted last. */
  rank: number;
  /** Workloads whose rollout reconcile waits for. */
  workload?: "Deployment" | "StatefulSet" | "DaemonSet" | "Job";
}

const KINDS: readonly KindInfo[] = [
  { apiVersion: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, rank: 0 },
  {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
    rank: 0,
  },
  { apiVersion: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, rank: 1 },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    plural: "clusterroles",
    namespaced: false,
    rank: 1,
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
    rank: 1,
  },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", plural: "roles", namespaced: true, rank: 1 },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    namespaced: true,
    rank: 1,
  },
  { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, rank: 1 },
  { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true, rank: 1 },
  {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    namespaced: true,
    rank: 1,
  },
  { apiVersion: "v1", kind: "Service", plural: "services", namespaced: true, rank: 2 },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
    rank: 3,
    workload: "Deployment",
  },
  {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    namespaced: true,
    rank: 3,
    workload: "StatefulSet",
  },
  {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    plural: "daemonsets",
    namespaced: true,
    rank: 3,
    workload: "DaemonSet",
  },
  { apiVersion: "batch/v1", kind: "Job", plural: "jobs", namespaced: true, rank: 3, workload: "Job" },
  { apiVersion: "batch/v1", kind: "CronJob", plural: "cronjobs", namespaced: true, rank: 3 },
];

const BY_KEY = new Map(KINDS.map((k) => [kindKey(k.apiVersion, k.kind), k]));

/** `apps/v1/Deployment`, `v1/Service`. */
export function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

export function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  return BY_KEY.get(kindKey(apiVersion, kind));
}

export function kindInfoByKey(key: string): KindInfo | undefined {
  return BY_KEY.get(key);
}

export function supportedKinds(): string[] {
  return KINDS.map((k) => kindKey(k.apiVersion, k.kind));
}

/** The collection URL path of a kind, in one namespace (namespaced kinds) or cluster-wide. */
export function collectionPath(info: KindInfo, namespace: string | undefined): string {
  const base = info.apiVersion.includes("/") ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
  if (!info.namespaced) return `${base}/${info.plural}`;
  return `${base}/namespaces/${encodeURIComponent(namespace ?? "default")}/${info.plural}`;
}

export function objectPath(info: KindInfo, namespace: string | undefined, name: string): string {
  return `${collectionPath(info, namespace)}/${encodeURIComponent(name)}`;
}
