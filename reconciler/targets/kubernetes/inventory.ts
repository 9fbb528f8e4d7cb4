// The inventory: which collections (kind + namespace) ever held this system's objects in an environment,
// kept in an annotation of the system's Lease (beside the lock, as kapp keeps an app ConfigMap), so
// pruning lists only those kinds — never every kind the cluster serves. Objects themselves are found in
// those lists by their owner labels. An inventory that is missing while owned objects exist, or that
// cannot be read, is rebuilt by listing every kind discovery serves, by owner label.
import { createHash } from "node:crypto";
import { KubernetesRequestError, type KubernetesClient } from "./client.js";
import {
  collectionKey,
  listCollection,
  parseCollectionKey,
  type Collection,
  type CollectionKey,
} from "./collections.js";
import type { Discovery } from "./discovery.js";
import { ANNOTATION, type KubeObject } from "./desired.js";
import { groupOf } from "./kinds.js";
import { mapBounded } from "../../concurrency/pool.js";

/** What the Lease says about the inventory. */
export interface InventoryRead {
  keys: CollectionKey[];
  /** absent: no Lease or no annotation (a first run, or deleted); damaged: there but unreadable. */
  state: "present" | "absent" | "damaged";
}

/** Annotation holding one environment's inventory (JSON list of collection keys). */
export function inventoryAnnotation(environment: string): string {
  return `sysconfig.io/inventory-${createHash("sha256").update(environment).digest("hex").slice(0, 12)}`;
}

export function leasePath(namespace: string, name?: string): string {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

export function leaseName(system: string): string {
  return `sysconfig-lock-${system}`;
}

/** Parses an inventory annotation; damaged when it is not a JSON list of collection keys. */
export function parseInventory(raw: string | undefined): InventoryRead {
  if (raw === undefined) return { keys: [], state: "absent" };
  try {
    const list: unknown = JSON.parse(raw);
    if (!Array.isArray(list)) return { keys: [], state: "damaged" };
    const keys = list.filter(
      (k): k is string => typeof k === "string" && parseCollectionKey(k) !== undefined,
    );
    return { keys, state: keys.length === list.length ? "present" : "damaged" };
  } catch {
    return { keys: [], state: "damaged" };
  }
}

/** Reads the collections recorded for an environment. */
export async function readInventory(
  client: KubernetesClient,
  namespace: string,
  system: string,
  environment: string,
): Promise<InventoryRead> {
  const res = await client.request<{ metadata: { annotations?: Record<string, string> } }>(
    "GET",
    leasePath(namespace, leaseName(system)),
    { accept: [404] },
  );
  if (res.status === 404) return { keys: [], state: "absent" };
  return parseInventory(res.body.metadata.annotations?.[inventoryAnnotation(environment)]);
}

/**
 * Inventory keys as collections to list. A recorded version the server no longer serves (an API
 * removed by an upgrade) is listed through a version of the group that still serves the kind; a kind
 * no version serves any more is reported in `gone` (its objects went with it).
 */
export async function inventoryCollections(
  keys: readonly CollectionKey[],
  discovery: Discovery,
): Promise<{ collections: Collection[]; gone: string[] }> {
  const parsed = keys.flatMap((k) => {
    const p = parseCollectionKey(k);
    return p ? [p] : [];
  });
  await discovery.load(parsed.map((p) => p.apiVersion));
  const collections: Collection[] = [];
  const gone: string[] = [];
  for (const p of parsed) {
    let info = discovery.kindInfo(p.apiVersion, p.kind);
    if (!info) {
      const group = groupOf(p.apiVersion);
      for (const v of discovery.servedVersions(group)) {
        info = discovery.kindInfo(group === "" ? v : `${group}/${v}`, p.kind);
        if (info) break;
      }
    }
    if (info) collections.push({ info, namespace: info.namespaced ? p.namespace : undefined });
    else gone.push(`${p.apiVersion}/${p.kind}`);
  }
  return { collections, gone };
}

export interface Rebuilt {
  /** Collections holding objects of this system. */
  found: Collection[];
  /** Owned objects found, by collection key. */
  objects: Map<CollectionKey, KubeObject[]>;
  /** Kinds listed. */
  listed: number;
  /** Kinds the credentials may not list (their objects, if any, cannot be pruned). */
  forbidden: string[];
}

/**
 * Lists every kind discovery serves, by owner label: cluster-scoped kinds once, namespaced kinds in each
 * of `namespaces` (the target's and those the config uses). What a least-privilege Role may not list is
 * skipped and named.
 */
export async function rebuildInventory(
  client: KubernetesClient,
  discovery: Discovery,
  namespaces: readonly string[],
  selector: string,
  skip: ReadonlySet<CollectionKey>,
  parallelism: number,
): Promise<Rebuilt> {
  const kinds = await discovery.listableKinds();
  const collections = kinds.flatMap((info): Collection[] =>
    info.namespaced ? namespaces.map((namespace) => ({ info, namespace })) : [{ info, namespace: undefined }],
  );
  const todo = collections.filter((c) => !skip.has(collectionKey(c.info, c.namespace)));
  const forbidden: string[] = [];
  const objects = new Map<CollectionKey, KubeObject[]>();
  const found: Collection[] = [];
  await mapBounded(todo, parallelism, async (c) => {
    try {
      // Controllers copy labels onto objects they make (Endpoints from a Service's): only what sysconfig
      // applied carries its hash annotation.
      const items = (await listCollection(client, c, selector)).filter(
        (o) => o.metadata.annotations?.[ANNOTATION.hash] !== undefined,
      );
      if (items.length === 0) return;
      objects.set(collectionKey(c.info, c.namespace), items);
      found.push(c);
    } catch (error) {
      // 403: not granted; 405 and 503: not listable or an aggregated API that is down.
      if (error instanceof KubernetesRequestError && [403, 405, 503].includes(error.status)) {
        forbidden.push(`${c.info.plural}${c.info.group === "" ? "" : `.${c.info.group}`}`);
        return;
      }
      throw error;
    }
  });
  return { found, objects, listed: todo.length, forbidden: [...new Set(forbidden)].sort() };
}
