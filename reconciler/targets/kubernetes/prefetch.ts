// The no-op's reads, started early (Target.prefetchActual): the inventory, the discovery of the kinds it
// names and one list per collection in it begin as soon as the target exists, while the desired state is
// rendered and parsed, so a run with nothing to change costs about max(local work, reads) instead of
// their sum. Only the first readActual of a run takes them: the read under the lock lists again.
import type { KubernetesClient } from "./client.js";
import { collectionKey, listCollection, type Collection, type CollectionKey } from "./collections.js";
import type { KubeObject } from "./desired.js";
import type { Discovery } from "./discovery.js";
import { inventoryCollections, readInventory, type InventoryRead } from "./inventory.js";

export interface PrefetchedRead {
  system: string;
  inventory: InventoryRead;
  listed: { collections: Collection[]; gone: string[] };
  /** One list per inventory collection, in flight or done. */
  lists: ReadonlyMap<CollectionKey, Promise<KubeObject[]>>;
}

/**
 * Starts the reads. The promise and every list in it carry a handler, so a run that ends before it uses
 * them (a config error, exit 3) leaves nothing unhandled; the closed client fails what is still going.
 */
export function prefetchRead(
  client: KubernetesClient,
  discovery: Discovery,
  scope: { namespace: string; system: string; environment: string },
): Promise<PrefetchedRead> {
  const read = (async (): Promise<PrefetchedRead> => {
    const inventory = await readInventory(client, scope.namespace, scope.system, scope.environment);
    const listed = await inventoryCollections(inventory.keys, discovery);
    const lists = new Map<CollectionKey, Promise<KubeObject[]>>();
    for (const c of listed.collections) {
      const list = listCollection(client, c);
      list.catch(() => undefined);
      lists.set(collectionKey(c.info, c.namespace), list);
    }
    return { system: scope.system, inventory, listed, lists };
  })();
  read.catch(() => undefined);
  return read;
}
