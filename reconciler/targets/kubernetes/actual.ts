// Actual state in two steps (DESIGN §6), so a no-op costs only lists:
// 1. one list per collection (kind + namespace) among the desired objects and the inventory, and a
//    comparison of each owned object with what sysconfig applies (hash annotation, and the live values
//    of the fields sysconfig sets);
// 2. a server-side dry-run apply only for objects that may differ: its result against the live object
//    is the diff the plan shows (defaulted fields make no noise), and an equal result is no change.
import { mapBounded } from "../../concurrency/pool.js";
import { reasonOf } from "../../errors.js";
import type { ActualObject, DesiredObject } from "../../model.js";
import { KubernetesRequestError, type KubernetesClient } from "./client.js";
import { collectionKey, listCollection, type Collection, type CollectionKey } from "./collections.js";
import { diffForm, fieldDrift, projectOnto, withoutOmitted } from "./compare.js";
import type { KindInfo } from "./kinds.js";
import { objectPath } from "./kinds.js";
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
} from "./desired.js";
import { conflictLines } from "./conflicts.js";
import { objectHealth } from "./health.js";
import { isSealedSecret } from "./secret-values.js";

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

/**
 * Dry-run results by live object version and desired hash. A dry-run is a function of the live object
 * (its resourceVersion) and the manifest, so a second read of unchanged objects (the pipeline reads
 * once without the lock and again under it) reuses the first one's results instead of asking again.
 */
export type DryRunCache = Map<string, DryRunOutcome>;

/** What a dry-run found: extra drift notes, and the two sides of the diff unless nothing would change. */
interface DryRunOutcome {
  notes: string[];
  /** Live and dry-run result in diff form; their YAML texts are made only if a plan shows them. */
  diff?: { before: KubeObject; after: KubeObject };
  /** The dry-run failed outright: notes say why, texts are left as they were. */
  failed: boolean;
}

export interface ReadOptions {
  scope: OwnerScope;
  /** Collections recorded in the inventory (kinds and namespaces this system used before), resolved. */
  inventory: readonly Collection[];
  parallelism: number;
  forceConflicts: boolean;
  cache?: DryRunCache;
  /**
   * Dry-run objects whose manifest changed too (plan: the exact diff). A reconcile passes false: the
   * apply is the server's answer, and the diff shown is the live value of every field sysconfig sets
   * against the new manifest. Objects whose manifest is unchanged but whose fields drifted are
   * dry-run either way (only the server can tell whether applying would change anything).
   */
  dryRunChanged: boolean;
  /** Lists started early (prefetch.ts), used instead of listing those collections again. */
  prefetched?: ReadonlyMap<CollectionKey, Promise<KubeObject[]>>;
}

export interface ReadResult {
  actual: ActualObject[];
  /** Server-side dry-runs sent (the rest compared equal from the lists alone, or were cached). */
  dryRuns: number;
  /** Inventory collections the credentials may not list (not pruned this run). */
  forbidden: CollectionKey[];
}

export async function kubernetesReadActual(
  client: KubernetesClient,
  desired: readonly DesiredObject[],
  options: ReadOptions,
): Promise<ReadResult> {
  const wanted = new Map(desired.map((d) => [d.subject, d]));
  const collections = new Map<CollectionKey, Collection>();
  for (const c of options.inventory) collections.set(collectionKey(c.info, c.namespace), c);
  for (const d of desired) {
    const spec = d.spec as KubernetesDesiredSpec;
    collections.set(collectionKey(spec.kind, spec.namespace), { info: spec.kind, namespace: spec.namespace });
  }
  const keys = [...collections.keys()].sort();
  const desiredKeys = new Set(
    desired.map((d) =>
      collectionKey((d.spec as KubernetesDesiredSpec).kind, (d.spec as KubernetesDesiredSpec).namespace),
    ),
  );
  const forbidden: CollectionKey[] = [];
  const lists = await mapBounded(keys, options.parallelism, async (key) => {
    const collection = collections.get(key) as Collection;
    try {
      const items = await (options.prefetched?.get(key) ?? listCollection(client, collection));
      return { info: collection.info, items };
    } catch (error) {
      // A kind only the inventory names (the config dropped it) that the regenerated Role no longer
      // grants: its objects cannot be pruned, which is said; everything else goes on.
      if (error instanceof KubernetesRequestError && error.status === 403 && !desiredKeys.has(key)) {
        forbidden.push(key);
        return { info: collection.info, items: [] };
      }
      throw error;
    }
  });
  const actual: ActualObject[] = [];
  const toDryRun: { desired: DesiredObject; actual: ActualObject; live: KubeObject }[] = [];
  const listed = lists.flatMap((l) =>
    l.items.map((live) => ({
      info: l.info,
      live,
      subject: subjectOf(live.apiVersion, live.kind, live.metadata.namespace, live.metadata.name),
    })),
  );
  // One object served at two versions (an inventory recorded policy/v1beta1, the config now says
  // policy/v1) is one object: keep it under the subject the config wants, once.
  const seen = new Set(listed.filter((l) => wanted.has(l.subject)).map((l) => l.live.metadata.uid));
  for (const { info, live, subject } of listed) {
    const namespace = live.metadata.namespace;
    const want = wanted.get(subject);
    if (want === undefined && live.metadata.uid !== undefined) {
      if (seen.has(live.metadata.uid)) continue;
      seen.add(live.metadata.uid);
    }
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
      const health = objectHealth(live);
      if (health.state !== "healthy") object.health = health;
      const service = live.metadata.labels?.[LABEL.service];
      if (service !== undefined) object.service = service;
      if (hash !== undefined) object.hash = hash;
      if (want !== undefined) {
        const drift = fieldDrift((want.spec as KubernetesDesiredSpec).manifest, live);
        // A sealed Secret's values exist only at apply: a dry-run without them would show them removed.
        if (
          hash !== want.hash &&
          (!options.dryRunChanged || isSealedSecret((want.spec as KubernetesDesiredSpec).manifest))
        ) {
          const manifest = (want.spec as KubernetesDesiredSpec).manifest;
          lazyText(object, () => objectText(diffForm(projectOnto(live, manifest))));
          lazyText(want, () => objectText(diffForm(withoutOmitted(manifest, live))));
        } else if (hash !== want.hash || drift.length > 0) {
          if (hash === want.hash) object.drift = drift;
          toDryRun.push({ desired: want, actual: object, live });
        }
      }
    }
    actual.push(object);
  }
  let dryRuns = 0;
  await mapBounded(toDryRun, options.parallelism, async (item) => {
    const key = `${item.actual.subject}\n${item.live.metadata.resourceVersion ?? ""}\n${item.desired.hash}\n${options.forceConflicts}`;
    let outcome = options.cache?.get(key);
    if (!outcome) {
      dryRuns += 1;
      outcome = await dryRun(client, item, options.forceConflicts);
      options.cache?.set(key, outcome);
    }
    useOutcome(item, outcome);
  });
  return { actual, dryRuns, forbidden: forbidden.sort() };
}

function useOutcome(item: { desired: DesiredObject; actual: ActualObject }, outcome: DryRunOutcome): void {
  const notes = [...(item.actual.drift ?? []), ...outcome.notes];
  if (outcome.failed) {
    item.actual.drift = notes;
    return;
  }
  if (!outcome.diff) {
    // Only the cheap check disagreed (a value the server normalizes): nothing to do.
    delete item.actual.drift;
    return;
  }
  if (notes.length > 0) item.actual.drift = notes;
  const { before, after } = outcome.diff;
  lazyText(item.actual, () => objectText(before));
  lazyText(item.desired, () => objectText(after));
}

/**
 * Server-side dry-run apply of the desired manifest: what the object would become. Equal to the live
 * object (apart from server-maintained metadata) means unchanged; otherwise the two are the diff.
 */
async function dryRun(
  client: KubernetesClient,
  item: { desired: DesiredObject; actual: ActualObject; live: KubeObject },
  forceConflicts: boolean,
): Promise<DryRunOutcome> {
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
  const notes: string[] = [];
  let result: KubeObject;
  try {
    result = (await apply(forceConflicts)).body;
  } catch (error) {
    if (!(error instanceof KubernetesRequestError) || error.status !== 409) {
      return { notes: [`server-side dry-run failed: ${reasonOf(error)}`], failed: true };
    }
    const lines = conflictLines(error);
    const how = reclaim
      ? "sysconfig set these fields last and takes them back"
      : "apply fails unless --force-conflicts takes them over";
    notes.push(`conflict: ${lines.join("; ")} (${how})`);
    try {
      result = (await apply(true)).body;
    } catch (again) {
      return { notes: [...notes, `server-side dry-run failed: ${reasonOf(again)}`], failed: true };
    }
  }
  const before = diffForm(item.live);
  const after = diffForm(result);
  // The hash annotation is left out of diffs but not of this test: a manifest that changed only in
  // ways the server normalizes away is applied once, so its new hash is recorded and lists suffice again.
  if (canonicalJson(before) === canonicalJson(after) && item.actual.hash === item.desired.hash) {
    return { notes: [], failed: false };
  }
  return { notes, diff: { before, after }, failed: false };
}
