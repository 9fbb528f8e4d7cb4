// Health after an apply, from one read of each collection (DESIGN §6 "Wait"): every created or updated
// object is classified by health.ts, the same rule readActual uses; kinds that carry no status are
// healthy once applied and cost no list. Pure: changes and listed objects in, one HealthCheck per subject.
import type { Change } from "../../model.js";
import type { HealthCheck } from "../target.js";
import { collectionKey, type Collection, type CollectionKey } from "./collections.js";
import type { KubernetesDesiredSpec, KubeObject } from "./desired.js";
import { hasHealth, objectHealth } from "./health.js";

/** The collections to list for these changes: only those holding objects with a status to wait for. */
export function healthCollections(changes: readonly Change[]): CollectionKey[] {
  return [...healthCollectionMap(changes).keys()];
}

/** The same, with each collection's kind resolved (what listCollection takes). */
export function healthCollectionMap(changes: readonly Change[]): Map<CollectionKey, Collection> {
  const out = new Map<CollectionKey, Collection>();
  for (const change of changes) {
    const spec = change.desired?.spec as KubernetesDesiredSpec | undefined;
    if (!spec || change.action === "delete" || !hasHealth(spec.manifest)) continue;
    out.set(collectionKey(spec.kind, spec.namespace), { info: spec.kind, namespace: spec.namespace });
  }
  return out;
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
    if (change.action === "delete" || !spec || !hasHealth(spec.manifest)) {
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
    const health = objectHealth(live, applied.get(change.subject) ?? 0);
    out.set(
      change.subject,
      health.state === "healthy"
        ? health
        : health.state === "progressing"
          ? { state: "pending", reason: health.reason }
          : { state: "failed", reason: health.reason },
    );
  }
  return out;
}
