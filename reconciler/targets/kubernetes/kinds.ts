// What sysconfig knows about a Kubernetes kind: where it lives in the API (from discovery, or from a
// CustomResourceDefinition in the config that is not on the server yet), whether it is namespaced, and
// its apply rank. Ranks follow kapp's change groups and Flux: Namespaces and CRDs, cluster-wide config,
// namespaced config, Services, workloads, what refers to workloads, then custom resources.
// The table of built-in kinds is what `sysconfig rbac` uses without a cluster; plans use discovery.

export interface KindInfo {
  apiVersion: string;
  /** The API group ("" for the core group). */
  group: string;
  kind: string;
  /** The resource name in URLs, e.g. `deployments`. */
  plural: string;
  namespaced: boolean;
  /** Lower ranks are applied first and deleted last. */
  rank: number;
  /** Subject of the CustomResourceDefinition in the config that defines this kind, when the server does not serve it yet. */
  definedBy?: string;
}

/** Ranks by group/kind; anything not listed (custom resources) is applied last. */
const RANKS: Record<string, number> = {
  "/Namespace": 0,
  "apiextensions.k8s.io/CustomResourceDefinition": 0,
  "rbac.authorization.k8s.io/ClusterRole": 1,
  "rbac.authorization.k8s.io/ClusterRoleBinding": 1,
  "scheduling.k8s.io/PriorityClass": 1,
  "storage.k8s.io/StorageClass": 1,
  "networking.k8s.io/IngressClass": 1,
  "node.k8s.io/RuntimeClass": 1,
  "/PersistentVolume": 1,
  "/ServiceAccount": 2,
  "rbac.authorization.k8s.io/Role": 2,
  "rbac.authorization.k8s.io/RoleBinding": 2,
  "/ConfigMap": 2,
  "/Secret": 2,
  "/PersistentVolumeClaim": 2,
  "/ResourceQuota": 2,
  "/LimitRange": 2,
  "networking.k8s.io/NetworkPolicy": 2,
  "/Service": 3,
  "apps/Deployment": 4,
  "apps/StatefulSet": 4,
  "apps/DaemonSet": 4,
  "apps/ReplicaSet": 4,
  "batch/Job": 4,
  "batch/CronJob": 4,
  "/Pod": 4,
  "autoscaling/HorizontalPodAutoscaler": 5,
  "policy/PodDisruptionBudget": 5,
  "networking.k8s.io/Ingress": 5,
};
export const CUSTOM_RANK = 6;

/** Built-in kinds by group/kind: plural and scope, for resolving without a server (sysconfig rbac). */
const BUILTIN: Record<string, { plural: string; namespaced: boolean }> = {
  "/Namespace": { plural: "namespaces", namespaced: false },
  "/PersistentVolume": { plural: "persistentvolumes", namespaced: false },
  "/ServiceAccount": { plural: "serviceaccounts", namespaced: true },
  "/ConfigMap": { plural: "configmaps", namespaced: true },
  "/Secret": { plural: "secrets", namespaced: true },
  "/PersistentVolumeClaim": { plural: "persistentvolumeclaims", namespaced: true },
  "/ResourceQuota": { plural: "resourcequotas", namespaced: true },
  "/LimitRange": { plural: "limitranges", namespaced: true },
  "/Service": { plural: "services", namespaced: true },
  "/Pod": { plural: "pods", namespaced: true },
  "apiextensions.k8s.io/CustomResourceDefinition": { plural: "customresourcedefinitions", namespaced: false },
  "rbac.authorization.k8s.io/ClusterRole": { plural: "clusterroles", namespaced: false },
  "rbac.authorization.k8s.io/ClusterRoleBinding": { plural: "clusterrolebindings", namespaced: false },
  "rbac.authorization.k8s.io/Role": { plural: "roles", namespaced: true },
  "rbac.authorization.k8s.io/RoleBinding": { plural: "rolebindings", namespaced: true },
  "scheduling.k8s.io/PriorityClass": { plural: "priorityclasses", namespaced: false },
  "storage.k8s.io/StorageClass": { plural: "storageclasses", namespaced: false },
  "networking.k8s.io/IngressClass": { plural: "ingressclasses", namespaced: false },
  "networking.k8s.io/Ingress": { plural: "ingresses", namespaced: true },
  "networking.k8s.io/NetworkPolicy": { plural: "networkpolicies", namespaced: true },
  "node.k8s.io/RuntimeClass": { plural: "runtimeclasses", namespaced: false },
  "apps/Deployment": { plural: "deployments", namespaced: true },
  "apps/StatefulSet": { plural: "statefulsets", namespaced: true },
  "apps/DaemonSet": { plural: "daemonsets", namespaced: true },
  "apps/ReplicaSet": { plural: "replicasets", namespaced: true },
  "batch/Job": { plural: "jobs", namespaced: true },
  "batch/CronJob": { plural: "cronjobs", namespaced: true },
  "autoscaling/HorizontalPodAutoscaler": { plural: "horizontalpodautoscalers", namespaced: true },
  "policy/PodDisruptionBudget": { plural: "poddisruptionbudgets", namespaced: true },
  "coordination.k8s.io/Lease": { plural: "leases", namespaced: true },
};

/** `apps/v1` → "apps", `v1` → "". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

export function rankOf(group: string, kind: string): number {
  return RANKS[`${group}/${kind}`] ?? CUSTOM_RANK;
}

/** A built-in kind at a given version, as the table knows it (no server asked). */
export function builtinKind(apiVersion: string, kind: string): KindInfo | undefined {
  const group = groupOf(apiVersion);
  const known = BUILTIN[`${group}/${kind}`];
  if (!known) return undefined;
  return { apiVersion, group, kind, ...known, rank: rankOf(group, kind) };
}

/** `apps/v1/Deployment`, `v1/Service`. */
export function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

/** The collection URL path of a kind, in one namespace (namespaced kinds) or cluster-wide. */
export function collectionPath(info: KindInfo, namespace: string | undefined): string {
  const base = info.apiVersion.includes("/") ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
  if (!info.namespaced || namespace === undefined) return `${base}/${info.plural}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${info.plural}`;
}

export function objectPath(info: KindInfo, namespace: string | undefined, name: string): string {
  return `${collectionPath(info, namespace)}/${encodeURIComponent(name)}`;
}
