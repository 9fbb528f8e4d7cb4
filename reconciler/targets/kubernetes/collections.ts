// One list per kind and namespace: a "collection" is the unit the kubernetes target reads, and the
// inventory records which collections ever held this system's objects, so pruning finds them later.
import { collectionPath, kindKey, type KindInfo } from "./kinds.js";
import type { KubeObject } from "./desired.js";
import type { KubernetesClient } from "./client.js";

/** `apps/v1/Deployment@shop`, `v1/Namespace@` (cluster-scoped). */
export type CollectionKey = string;

/** A collection to list: a resolved kind, and its namespace when the kind is namespaced. */
export interface Collection {
  info: KindInfo;
  namespace: string | undefined;
}

export function collectionKey(info: KindInfo, namespace: string | undefined): CollectionKey {
  return `${kindKey(info.apiVersion, info.kind)}@${info.namespaced ? (namespace ?? "") : ""}`;
}

/** The parts of a key (as recorded in an inventory); undefined when it is not a key at all. */
export function parseCollectionKey(
  key: CollectionKey,
): { apiVersion: string; kind: string; namespace: string | undefined } | undefined {
  const at = key.lastIndexOf("@");
  const slash = key.lastIndexOf("/", at);
  if (at < 0 || slash <= 0) return undefined;
  const apiVersion = key.slice(0, slash);
  const kind = key.slice(slash + 1, at);
  const namespace = key.slice(at + 1);
  if (!/^[A-Za-z0-9]+$/.test(kind) || !/^([a-z0-9.-]+\/)?v[a-z0-9]+$/.test(apiVersion)) return undefined;
  if (namespace !== "" && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) return undefined;
  return { apiVersion, kind, namespace: namespace === "" ? undefined : namespace };
}

interface ListBody {
  items?: KubeObject[];
  metadata?: { continue?: string };
}

/**
 * Every object of one collection (pages of 500); a kind the server does not serve (yet) lists as empty.
 * A namespaced kind without a namespace lists across all namespaces.
 */
export async function listCollection(
  client: KubernetesClient,
  { info, namespace }: Collection,
  labelSelector?: string,
): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let next: string | undefined;
  do {
    const res = await client.request<ListBody>("GET", collectionPath(info, namespace), {
      query: { limit: "500", continue: next, labelSelector },
      accept: [404],
      countAs: "LIST",
    });
    if (res.status === 404) return [];
    for (const item of res.body.items ?? []) {
      // Nothing sysconfig does reads managedFields (diffs leave them out, apply sends none), and on an
      // applied object they are as large as the rest of it: dropped here, not kept for the whole run.
      if (item.metadata !== undefined) delete item.metadata.managedFields;
      // Lists leave out apiVersion and kind on items.
      items.push({ ...item, apiVersion: info.apiVersion, kind: info.kind });
    }
    next = res.body.metadata?.continue || undefined;
  } while (next !== undefined);
  return items;
}
