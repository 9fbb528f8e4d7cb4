// Rollout health from one read of each collection (DESIGN §6 "Wait"): Deployments, StatefulSets,
// DaemonSets rolled out and available, Jobs complete; everything else is healthy once applied.
// Pure: changes and listed objects in, one HealthCheck per subject out.
import type { Change } from "../../model.js";
import type { HealthCheck } from "../target.js";
import { collectionKey, type CollectionKey } from "./collections.js";
import type { KubernetesDesiredSpec, KubeObject } from "./desired.js";

/** The collections to list for these changes: only those holding workloads that roll out. */
export function healthCollections(changes: readonly Change[]): CollectionKey[] {
  const keys = new Set<CollectionKey>();
  for (const change of changes) {
    const spec = change.desired?.spec as KubernetesDesiredSpec | undefined;
    if (spec?.kind.workload !== undefined && change.action !== "delete")
      keys.add(collectionKey(spec.kind, spec.namespace));
  }
  return [...keys];
}

/**
 * Classifies every created or updated change against the listed objects. `applied` holds the
 * metadata.generation each apply returned: status must describe at least that generation.
 */
export function classifyHealth(
  changes: readonly Change[],
  lists: ReadonlyMap<CollectionKey, readonly KubeObject[]>,
  applied: ReadonlyMap<string, number>,
): Map<string, HealthCheck> {
  const out = new Map<string, HealthCheck>();
  for (const change of changes) {
    const spec = change.desired?.spec as KubernetesDesiredSpec | undefined;
    if (change.action === "delete" || !spec || spec.kind.workload === undefined) {
      out.set(change.subject, { state: "healthy" });
      continue;
    }
    const live = lists
      .get(collectionKey(spec.kind, spec.namespace))
      ?.find((o) => o.metadata.name === spec.name);
    if (!live) {
      out.set(change.subject, { state: "pending", reason: "not found on the API server yet" });
      continue;
    }
    out.set(change.subject, workloadHealth(spec.kind.workload, live, applied.get(change.subject) ?? 0));
  }
  return out;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

type Status = Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };

const num = (v: unknown): number => (typeof v === "number" ? v : 0);

export function workloadHealth(
  workload: "Deployment" | "StatefulSet" | "DaemonSet" | "Job",
  live: KubeObject,
  appliedGeneration: number,
): HealthCheck {
  const status = (live.status ?? {}) as Status;
  const spec = (live.spec ?? {}) as Record<string, unknown>;
  const generation = Math.max(live.metadata.generation ?? 0, appliedGeneration);
  const condition = (type: string): Condition | undefined => status.conditions?.find((c) => c.type === type);
  if (workload === "Job") {
    const failed = condition("Failed");
    if (failed?.status === "True")
      return { state: "failed", reason: `job failed: ${failed.reason ?? ""} ${failed.message ?? ""}`.trim() };
    if (condition("Complete")?.status === "True") return { state: "healthy" };
    return {
      state: "pending",
      reason: `job running: ${num(status.succeeded)} succeeded, ${num(status.active)} active`,
    };
  }
  if (num(status.observedGeneration) < generation) {
    return {
      state: "pending",
      reason: `waiting for the controller to observe generation ${generation} (seen ${num(status.observedGeneration)})`,
    };
  }
  if (workload === "Deployment") {
    const progressing = condition("Progressing");
    if (progressing?.reason === "ProgressDeadlineExceeded") {
      return {
        state: "failed",
        reason: `rollout stalled (ProgressDeadlineExceeded): ${progressing.message ?? ""}`.trim(),
      };
    }
    const want = typeof spec.replicas === "number" ? spec.replicas : 1;
    const updated = num(status.updatedReplicas);
    const total = num(status.replicas);
    const available = num(status.availableReplicas);
    if (updated < want)
      return { state: "pending", reason: `${updated} of ${want} replicas updated${stuckReason(condition)}` };
    if (total > updated)
      return { state: "pending", reason: `${total - updated} old replica(s) pending termination` };
    if (available < updated)
      return {
        state: "pending",
        reason: `${available} of ${updated} updated replicas available${stuckReason(condition)}`,
      };
    return { state: "healthy" };
  }
  if (workload === "StatefulSet") {
    const want = typeof spec.replicas === "number" ? spec.replicas : 1;
    const ready = num(status.readyReplicas);
    const updated = num(status.updatedReplicas);
    if (
      status.updateRevision !== undefined &&
      status.currentRevision !== status.updateRevision &&
      updated < want
    ) {
      return { state: "pending", reason: `${updated} of ${want} pods at the new revision` };
    }
    if (ready < want) return { state: "pending", reason: `${ready} of ${want} pods ready` };
    return { state: "healthy" };
  }
  const desired = num(status.desiredNumberScheduled);
  const updated = num(status.updatedNumberScheduled);
  const available = num(status.numberAvailable);
  if (updated < desired)
    return { state: "pending", reason: `${updated} of ${desired} nodes run the new pod` };
  if (available < desired) return { state: "pending", reason: `${available} of ${desired} pods available` };
  return { state: "healthy" };
}

/** A Deployment's ReplicaFailure condition names why pods are not being created (quota, admission). */
function stuckReason(condition: (type: string) => Condition | undefined): string {
  const failure = condition("ReplicaFailure");
  return failure?.status === "True"
    ? ` (${failure.reason ?? "ReplicaFailure"}: ${failure.message ?? ""})`
    : "";
}
