// Actual state in two steps (DESIGN §6), so a no-op costs only lists:
// 1. one list per collection (kind + namespace) among the desired objects and the inventory, and a
//    comparison of each owned object with what sysconfig applies (hash annotation, and the live values
//    of the fields sysconfig sets);
// 2. a server-side dry-run apply only for objects that may differ: its result against the live object
//    is the diff the plan shows (defaulted fields make no noise), and an equal result is no change.
import { mapBounded } from "../../apply/pool.js";
import { reasonOf } from "../../errors.js";
import type { ActualObject, DesiredObject } from "../../model.js";
import { KubernetesRequestError, type KubernetesClient } from "./kubernetes-client.js";
import {
  collectionKey,
  listCollection,
  parseCollectionKey,
  type CollectionKey,
} from "./kubernetes-collections.js";
import { diffForm, fieldDrift } from "./kubernetes-compare.js";
import type { KindInfo } from "./kubernetes-kinds.js";
import { objectPath } from "./kubernetes-kinds.js";
import {
  ANNOTATION,
  LABEL,
  canonicalJson,
  isOwned,
  lazyText,
  objectText,
  subjectOf,
  type KubeObject,
  type KubernetesDesiredSpec,
  type OwnerScope,
} from "./kubernetes-objects.js";
import { conflictLines } from "./kubernetes-conflicts.js";

/** What readActual() records about a live object for apply(). */
export interface KubernetesActualSpec {
  kind: KindInfo;
  namespace: string | undefined;
  name: string;
  uid: string | undefined;
  /**
   * The live object carries the hash of exactly the manifest sysconfig applies now: any difference is
   * drift made by hand, and apply takes those fields back even from another field manager.
   */
  reclaim: boolean;
}

export interface ReadOptions {
  scope: OwnerScope;
  /** Collections recorded in the inventory (kinds and namespaces this system used before). */
  inventory: readonly CollectionKey[];
  parallelism: number;
  forceConflicts: boolean;
}

export interface ReadResult {
  actual: ActualObject[];
  /** Objects that needed a server-side dry-run (the rest compared equal from the lists alone). */
  dryRuns: number;
}

export async function kubernetesReadActual(
  client: KubernetesClient,
  desired: readonly DesiredObject[],
  options: ReadOptions,
): Promise<ReadResult> {
  const wanted = new Map(desired.map((d) => [d.subject, d]));
  const keys = new Set<CollectionKey>(options.inventory);
  for (const d of desired) {
    const spec = d.spec as KubernetesDesiredSpec;
    keys.add(collectionKey(spec.kind, spec.namespace));
  }
  const lists = await mapBounded([...keys].sort(), options.parallelism, async (key) => ({
    info: parseCollectionKey(key)?.info,
    items: await listCollection(client, key),
  }));
  const actual: ActualObject[] = [];
  const toDryRun: { desired: DesiredObject; actual: ActualObject; live: KubeObject }[] = [];
  for (const { info, live } of lists.flatMap((l) => l.items.map((live) => ({ info: l.info, live })))) {
    if (!info) continue;
    const { apiVersion, kind } = live;
    const namespace = live.metadata.namespace;
    const subject = subjectOf(apiVersion, kind, namespace, live.metadata.name);
    const want = wanted.get(subject);
    const owned = isOwned(live, options.scope);
    // Objects of others are only reported when they hold a name sysconfig wants (a conflict).
    if (!owned && want === undefined) continue;
    const hash = live.metadata.annotations?.[ANNOTATION.hash];
    const spec: KubernetesActualSpec = {
      kind: info,
      namespace,
      name: live.metadata.name,
      uid: live.metadata.uid,
      reclaim: want !== undefined && hash === want.hash,
    };
    const object: ActualObject = {
      subject,
      name: namespace === undefined ? live.metadata.name : `${namespace}/${live.metadata.name}`,
      owned,
      text: "",
      spec,
    };
    lazyText(object, () => objectText(diffForm(live)));
    if (owned) {
      const service = live.metadata.labels?.[LABEL.service];
      if (service !== undefined) object.service = service;
      if (hash !== undefined) object.hash = hash;
      if (want !== undefined) {
        const drift = fieldDrift((want.spec as KubernetesDesiredSpec).manifest, live);
        if (hash !== want.hash || drift.length > 0) {
          if (hash === want.hash) object.drift = drift;
          toDryRun.push({ desired: want, actual: object, live });
        }
      }
    }
    actual.push(object);
  }
  await mapBounded(toDryRun, options.parallelism, (item) => dryRun(client, item, options.forceConflicts));
  return { actual, dryRuns: toDryRun.length };
}

/**
 * Server-side dry-run apply of the desired manifest: what the object would become. Equal to the live
 * object (apart from server-maintained metadata) means unchanged; otherwise the two are the diff.
 */
async function dryRun(
  client: KubernetesClient,
  item: { desired: DesiredObject; actual: ActualObject; live: KubeObject },
  forceConflicts: boolean,
): Promise<void> {
  const spec = item.desired.spec as KubernetesDesiredSpec;
  const path = objectPath(spec.kind, spec.namespace, spec.name);
  const reclaim = (item.actual.spec as KubernetesActualSpec).reclaim;
  const apply = (force: boolean) =>
    client.request<KubeObject>("PATCH", path, {
      query: { fieldManager: "sysconfig", force: String(force), dryRun: "All" },
      body: spec.manifest,
      contentType: "application/apply-patch+yaml",
      countAs: "DRYRUN",
    });
  let result: KubeObject;
  try {
    result = (await apply(forceConflicts)).body;
  } catch (error) {
    if (!(error instanceof KubernetesRequestError) || error.status !== 409) {
      item.actual.drift = [...(item.actual.drift ?? []), `server-side dry-run failed: ${reasonOf(error)}`];
      return;
    }
    const lines = conflictLines(error);
    const how = reclaim
      ? "sysconfig set these fields last and takes them back"
      : "apply fails unless --force-conflicts takes them over";
    item.actual.drift = [...(item.actual.drift ?? []), `conflict: ${lines.join("; ")} (${how})`];
    try {
      result = (await apply(true)).body;
    } catch (again) {
      item.actual.drift.push(`server-side dry-run failed: ${reasonOf(again)}`);
      return;
    }
  }
  const before = diffForm(item.live);
  const after = diffForm(result);
  // The hash annotation is left out of diffs but not of this test: a manifest that changed only in
  // ways the server normalizes away is applied once, so its new hash is recorded and lists suffice again.
  if (canonicalJson(before) === canonicalJson(after) && item.actual.hash === item.desired.hash) {
    // Only the cheap check disagreed (a value the server normalizes): nothing to do.
    delete item.actual.drift;
    return;
  }
  item.actual.text = objectText(before);
  item.desired.text = objectText(after);
}
