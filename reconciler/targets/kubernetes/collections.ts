// One list per kind and namespace: a "collection" is the unit the kubernetes target reads, and the
// inventory records which collections ever held this system's objects, so pruning finds them later.
import { collectionPath, kindInfoByKey, kindKey, type KindInfo } from "./kinds.js";
import type { KubeObject } from "./desired.js";
import type { KubernetesClient } from "./client.js";

/** `apps/v1/Deployment@shop`, `v1/Namespace@` (cluster-scoped). */
export type CollectionKey = string;

export function collectionKey(info: KindInfo, namespace: string | undefined): CollectionKey {
  return `${kindKey(info.apiVersion, info.kind)}@${info.namespaced ? (namespace ?? "") : ""}`;
}

export function parseCollectionKey(
  key: CollectionKey,
): { info: KindInfo; namespace: string | undefined } | undefined {
  const at = key.lastIndexOf("@");
  if (at < 0) return undefined;
  const info = kindInfoByKey(key.slice(0, at));
  if (!info) return undefined;
  const namespace = key.slice(at + 1);
  if (info.namespaced && namespace === "") return undefined;
  return { info, namespace: info.namespaced ? namespace : undefined };
}

interface ListBody {
  items?: KubeObject[];
  metadata?: { continue?: string };
}

/** Every object of one collection (pages of 500); a kind the server does not serve lists as empty. */
export async function listCollection(
  client: KubernetesClient,
  key: CollectionKey,
  labelSelector?: string,
): Promise<KubeObject[]> {
  const parsed = parseCollectionKey(key);
  if (!parsed) return [];
  const { info, namespace } = parsed;
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
      // Lists leave out apiVersion and kind on items.
      items.push({ ...item, apiVersion: info.apiVersion, kind: info.kind });
    }
    next = res.body.metadata?.continue || undefined;
  } while (next !== undefined);
  return items;
}
