// Health of one live object, the one rule used both for the actual state (readActual) and while waiting
// after an apply (wait.ts). kstatus conventions for every kind — status.observedGeneration must have
// caught up with metadata.generation; Stalled, Ready, Available and Progressing conditions — and rules of
// their own for the kinds that have them: Deployment/StatefulSet/DaemonSet rollouts, Job complete, PVC
// Bound, CustomResourceDefinition Established, a LoadBalancer Service given an address. An object with
// no status is healthy once applied. Pure.
import type { ObjectHealth } from "../../model.js";
import type { KubeObject } from "./desired.js";
import { groupOf } from "./kinds.js";

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

type Status = Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };

const HEALTHY: ObjectHealth = { state: "healthy" };
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
const progressing = (reason: string): ObjectHealth => ({ state: "progressing", reason });
const unhealthy = (reason: string): ObjectHealth => ({ state: "unhealthy", reason });

/** Kinds that never carry a status: healthy once applied, not even listed to wait for them. */
const STATUSLESS = new Set([
  "/ConfigMap",
  "/Secret",
  "/ServiceAccount",
  "/LimitRange",
  "rbac.authorization.k8s.io/Role",
  "rbac.authorization.k8s.io/RoleBinding",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "networking.k8s.io/NetworkPolicy",
  "scheduling.k8s.io/PriorityClass",
  "storage.k8s.io/StorageClass",
]);

/** False for kinds that have no status to wait for (and a Service that is not a LoadBalancer). */
export function hasHealth(manifest: KubeObject): boolean {
  const group = groupOf(manifest.apiVersion);
  if (STATUSLESS.has(`${group}/${manifest.kind}`)) return false;
  if (group === "" && manifest.kind === "Service") {
    return (manifest.spec as { type?: unknown } | undefined)?.type === "LoadBalancer";
  }
  return true;
}

/**
 * The health of a live object. `appliedGeneration` is the metadata.generation this run's apply returned
 * (0 when nothing was applied): the status must describe at least that generation.
 */
export function objectHealth(live: KubeObject, appliedGeneration = 0): ObjectHealth {
  const status = live.status as Status | undefined;
  const group = groupOf(live.apiVersion);
  const kind = `${group}/${live.kind}`;
  if (kind === "/Service") return serviceHealth(live);
  if (status === undefined || status === null || typeof status !== "object") return HEALTHY;
  const condition = (type: string): Condition | undefined => status.conditions?.find((c) => c.type === type);
  switch (kind) {
    case "batch/Job":
      return jobHealth(status, condition);
    case "/PersistentVolumeClaim":
      return status.phase === "Bound"
        ? HEALTHY
        : status.phase === "Lost"
          ? unhealthy("claim lost its volume (phase Lost)")
          : progressing(
              `claim not bound yet (phase ${typeof status.phase === "string" ? status.phase : "Pending"})`,
            );
    case "apiextensions.k8s.io/CustomResourceDefinition": {
      const names = condition("NamesAccepted");
      if (names?.status === "False") return unhealthy(`names not accepted: ${text(names)}`);
      return condition("Established")?.status === "True"
        ? HEALTHY
        : progressing("waiting for the API server to establish it (condition Established)");
    }
  }
  const generation = Math.max(live.metadata.generation ?? 0, appliedGeneration);
  if (typeof status.observedGeneration === "number" || kind.startsWith("apps/")) {
    if (num(status.observedGeneration) < generation) {
      return progressing(
        `waiting for the controller to observe generation ${generation} (seen ${num(status.observedGeneration)})`,
      );
    }
  }
  if (kind === "apps/Deployment") return deploymentHealth(live, status, condition);
  if (kind === "apps/StatefulSet") return statefulSetHealth(live, status);
  if (kind === "apps/DaemonSet") return daemonSetHealth(status);
  return conditionHealth(condition);
}

/** kstatus: Stalled is a failure, Reconciling is not done; Ready/Available false and Progressing false say why. */
function conditionHealth(condition: (type: string) => Condition | undefined): ObjectHealth {
  const stalled = condition("Stalled");
  if (stalled?.status === "True") return unhealthy(`stalled: ${text(stalled)}`);
  const failed = condition("Progressing");
  if (failed?.status === "False") return unhealthy(`not progressing: ${text(failed)}`);
  const reconciling = condition("Reconciling");
  if (reconciling?.status === "True") return progressing(`reconciling: ${text(reconciling)}`);
  for (const type of ["Ready", "Available"]) {
    const c = condition(type);
    if (c?.status === "False" || c?.status === "Unknown")
      return progressing(`not ${type.toLowerCase()}: ${text(c)}`);
  }
  return HEALTHY;
}

function text(c: Condition): string {
  return (
    [c.reason, c.message].filter((p) => p !== undefined && p !== "").join(": ") || `${c.type} ${c.status}`
  );
}

function serviceHealth(live: KubeObject): ObjectHealth {
  const spec = (live.spec ?? {}) as { type?: unknown };
  if (spec.type !== "LoadBalancer") return HEALTHY;
  const ingress = (live.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer
    ?.ingress;
  return Array.isArray(ingress) && ingress.length > 0
    ? HEALTHY
    : progressing("waiting for the load balancer to get an address");
}

function jobHealth(status: Status, condition: (type: string) => Condition | undefined): ObjectHealth {
  const failed = condition("Failed");
  if (failed?.status === "True") return unhealthy(`job failed: ${text(failed)}`);
  if (condition("Complete")?.status === "True") return HEALTHY;
  return progressing(`job running: ${num(status.succeeded)} succeeded, ${num(status.active)} active`);
}

function deploymentHealth(
  live: KubeObject,
  status: Status,
  condition: (type: string) => Condition | undefined,
): ObjectHealth {
  const spec = (live.spec ?? {}) as Record<string, unknown>;
  const progress = condition("Progressing");
  if (progress?.reason === "ProgressDeadlineExceeded") {
    return unhealthy(`rollout stalled (ProgressDeadlineExceeded): ${progress.message ?? ""}`.trim());
  }
  const want = typeof spec.replicas === "number" ? spec.replicas : 1;
  const updated = num(status.updatedReplicas);
  const total = num(status.replicas);
  const available = num(status.availableReplicas);
  if (updated < want) return progressing(`${updated} of ${want} replicas updated${stuckReason(condition)}`);
  if (total > updated) return progressing(`${total - updated} old replica(s) pending termination`);
  if (available < updated)
    return progressing(`${available} of ${updated} updated replicas available${stuckReason(condition)}`);
  return HEALTHY;
}

function statefulSetHealth(live: KubeObject, status: Status): ObjectHealth {
  const spec = (live.spec ?? {}) as Record<string, unknown>;
  const want = typeof spec.replicas === "number" ? spec.replicas : 1;
  const ready = num(status.readyReplicas);
  const updated = num(status.updatedReplicas);
  if (
    status.updateRevision !== undefined &&
    status.currentRevision !== status.updateRevision &&
    updated < want
  ) {
    return progressing(`${updated} of ${want} pods at the new revision`);
  }
  if (ready < want) return progressing(`${ready} of ${want} pods ready`);
  return HEALTHY;
}

function daemonSetHealth(status: Status): ObjectHealth {
  const desired = num(status.desiredNumberScheduled);
  const updated = num(status.updatedNumberScheduled);
  const available = num(status.numberAvailable);
  if (updated < desired) return progressing(`${updated} of ${desired} nodes run the new pod`);
  if (available < desired) return progressing(`${available} of ${desired} pods available`);
  return HEALTHY;
}

/** A Deployment's ReplicaFailure condition names why pods are not being created (quota, admission). */
function stuckReason(condition: (type: string) => Condition | undefined): string {
  const failure = condition("ReplicaFailure");
  return failure?.status === "True"
    ? ` (${failure.reason ?? "ReplicaFailure"}: ${failure.message ?? ""})`
    : "";
}
