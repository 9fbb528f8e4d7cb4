// The kubernetes target (DESIGN §6): objects from the rendered manifests, actual state from one list
// per kind and namespace (plus a server-side dry-run only where an object may differ), server-side
// apply with field manager `sysconfig`, rollout waits, and a Lease as the lock. This file only wires
// the per-concern modules behind the Target interface.
import type { TargetConfig } from "../../config/schema.js";
import { InternalError, InvalidInputError } from "../../errors.js";
import type { Change } from "../../model.js";
import type { ApplyContext, HealthCheck, Target, TargetOptions } from "../target.js";
import { parseBooleanWord } from "./flags.js";
import { kubernetesReadActual, type DryRunCache } from "./actual.js";
import { kubernetesApply } from "./apply.js";
import type { EstablishedWaits } from "./crd-wait.js";
import { DeleteOrder } from "./delete-order.js";
import { KubernetesClient, type ClientTuning } from "./client.js";
import { collectionKey, listCollection, type Collection, type CollectionKey } from "./collections.js";
import { Discovery } from "./discovery.js";
import { inventoryCollections, readInventory, rebuildInventory } from "./inventory.js";
import { resolveConnection } from "./endpoint.js";
import { prefetchRead, type PrefetchedRead } from "./prefetch.js";
import {
  acquireKubernetesLock,
  DEFAULT_LEASE_TUNING,
  type KubernetesLock,
  type LeaseTuning,
} from "./lock.js";
import {
  apiVersionsOf,
  LABEL,
  ownerSelector,
  parseDesiredDocuments,
  resolveDesiredObjects,
  type KubernetesDesiredSpec,
  type OwnerScope,
  type ParsedDocument,
} from "./desired.js";
import { classifyHealth, healthCollectionMap } from "./wait.js";
import type { DesiredObject, DesiredState } from "../../model.js";
import { mapBounded } from "../../concurrency/pool.js";

export type KubernetesTargetConfig = Extract<TargetConfig, { kind: "kubernetes" }>;

/** Knobs tests and benchmarks turn; production uses the defaults. */
export interface KubernetesTuning {
  client: Partial<ClientTuning>;
  lease: LeaseTuning;
  /** Health poll interval while waiting for a rollout. */
  pollMs: number;
  /** Lists and dry-runs in flight at once while planning. */
  parallelism: number;
}

export const DEFAULT_KUBERNETES_TUNING: KubernetesTuning = {
  client: {},
  lease: DEFAULT_LEASE_TUNING,
  pollMs: 1_000,
  parallelism: 16,
};

export interface KubernetesTarget extends Target {
  readonly client: KubernetesClient;
  /** One poll for many changes: one list per collection holding a workload among them. */
  checkHealth(changes: readonly Change[], context?: ApplyContext): Promise<Map<string, HealthCheck>>;
  /** Server-side dry-runs the last readActual() issued (benchmarks and tests read it). */
  readonly lastDryRuns: number;
  /** The run's API discovery (cached: one request per group version at most). */
  readonly discovery: Discovery;
}

export async function createKubernetesTarget(
  config: KubernetesTargetConfig,
  options: TargetOptions,
  tuning: Partial<KubernetesTuning> = {},
): Promise<KubernetesTarget> {
  const t = { ...DEFAULT_KUBERNETES_TUNING, ...tuning };
  const environment = options.environment;
  if (environment === undefined || environment === "") {
    throw new InternalError("kubernetes target: no environment given; it is part of the owner labels");
  }
  const forceConflicts = parseBooleanWord(options.env.SYSCONFIG_FORCE_CONFLICTS, "SYSCONFIG_FORCE_CONFLICTS");
  const connection = await resolveConnection({
    endpoint: options.endpoint ?? config.endpoint,
    endpointSource:
      options.endpoint !== undefined
        ? (options.endpointSource ?? "--endpoint")
        : `the ${environment} environment's target.endpoint`,
    context: emptyToUndefined(options.env.SYSCONFIG_CONTEXT) ?? config.context,
    kubeconfig: config.kubeconfig,
    env: options.env,
  });
  // --request-timeout bounds each API request here as on the other targets.
  const client = new KubernetesClient(connection, {
    ...t.client,
    ...(options.requestTimeoutMs !== undefined ? { timeoutMs: options.requestTimeoutMs } : {}),
  });
  const namespace = config.namespace;
  let desired: DesiredObject[] = [];
  let lock: KubernetesLock | undefined;
  const applied = new Map<string, number>();
  const established: EstablishedWaits = new Map();
  const deleteOrder = new DeleteOrder();
  let lastDryRuns = 0;
  const dryRunCache: DryRunCache = new Map();
  const discovery = new Discovery(client);
  let prepared: { state: DesiredState; documents: readonly ParsedDocument[] } | undefined;
  /** Collections a rebuilt inventory found: listed on every read of this run, recorded under the lock. */
  let rebuilt: Collection[] | undefined;
  /** The first read's requests, started by prefetchActual while the desired state is rendered. */
  let prefetched: Promise<PrefetchedRead> | undefined;
  const scope = (system: string): OwnerScope => ({ system, environment });

  /** Lists every kind discovery serves by owner label; says so, and what it could not list. */
  const rebuild = async (
    system: string,
    state: "absent" | "damaged",
    known: readonly Collection[],
  ): Promise<Collection[]> => {
    const skip = new Set<CollectionKey>(known.map((c) => collectionKey(c.info, c.namespace)));
    for (const d of desired) {
      const spec = d.spec as KubernetesDesiredSpec;
      skip.add(collectionKey(spec.kind, spec.namespace));
    }
    const found = await rebuildInventory(
      client,
      discovery,
      namespacesOf(namespace, desired),
      ownerSelector(scope(system)),
      skip,
      t.parallelism,
    );
    const where = found.found.map((c) => collectionKey(c.info, c.namespace));
    options.reporter.warn(
      `kubernetes inventory of ${system} (${environment}) ${state === "absent" ? "is missing although objects of it exist (was the Lease deleted?)" : "is damaged"}: ` +
        `rebuilt by listing ${found.listed} kind(s) the server serves by owner label; ` +
        `${where.length === 0 ? "no other kinds hold its objects" : `also found objects in ${where.join(", ")}`}` +
        `${found.forbidden.length === 0 ? "" : `; not permitted to list ${found.forbidden.join(", ")} (objects of those kinds, if any, are not pruned)`}. ` +
        `It is recorded again with the next change.`,
    );
    return found.found;
  };

  const checkHealth = async (
    changes: readonly Change[],
    context?: ApplyContext,
  ): Promise<Map<string, HealthCheck>> => {
    // Only this system's objects: a shared namespace may hold many others.
    const selector = context === undefined ? undefined : `${LABEL.system}=${context.system}`;
    const collections = [...healthCollectionMap(changes).entries()];
    const lists = new Map(
      await mapBounded(
        collections,
        t.parallelism,
        async ([key, collection]) => [key, await listCollection(client, collection, selector)] as const,
      ),
    );
    return classifyHealth(changes, lists, applied);
  };

  return {
    kind: "kubernetes",
    client,
    get lastDryRuns() {
      return lastDryRuns;
    },
    get discovery() {
      return discovery;
    },
    async prepare(state) {
      if (state.target.kind !== "kubernetes") {
        throw new InvalidInputError(`kubernetes target: the desired state is for ${state.target.kind}`);
      }
      const documents = parseDesiredDocuments(state);
      await discovery.load(apiVersionsOf(documents));
      prepared = { state, documents };
    },
    desiredObjects(state) {
      if (prepared?.state !== state) {
        throw new InternalError("kubernetes target: desiredObjects() before prepare() of this desired state");
      }
      desired = resolveDesiredObjects(state, prepared.documents, discovery.resolver());
      return desired;
    },
    prefetchActual(system) {
      prefetched = prefetchRead(client, discovery, { namespace, system, environment });
    },
    async readActual(system, purpose = "plan") {
      const early = await prefetched?.catch(() => undefined); // failed: read afresh, and fail here if so
      prefetched = undefined;
      const reuse = early?.system === system ? early : undefined;
      const inventory = reuse?.inventory ?? (await readInventory(client, namespace, system, environment));
      const listed = reuse?.listed ?? (await inventoryCollections(inventory.keys, discovery));
      if (listed.gone.length > 0) {
        options.reporter.warn(
          `kubernetes inventory of ${system}: the server no longer serves ${listed.gone.join(", ")}; ` +
            `objects of these kinds are gone with their API and are not pruned`,
        );
      }
      const read = (extra: readonly Collection[], early?: PrefetchedRead) =>
        kubernetesReadActual(client, desired, {
          ...(early === undefined ? {} : { prefetched: early.lists }),
          scope: scope(system),
          inventory: [...listed.collections, ...extra],
          parallelism: t.parallelism,
          forceConflicts,
          cache: dryRunCache,
          dryRunChanged: purpose === "plan",
        });
      let result = await read(rebuilt ?? [], reuse);
      if (rebuilt === undefined && inventory.state !== "present") {
        // No inventory, yet owned objects exist (it was deleted), or it cannot be read: rebuild it.
        const owned = result.actual.some((a) => a.owned);
        if (owned || inventory.state === "damaged") {
          rebuilt = await rebuild(system, inventory.state, listed.collections);
          if (rebuilt.length > 0) result = await read(rebuilt);
        }
      }
      rebuilt ??= [];
      if (result.forbidden.length > 0) {
        options.reporter.warn(
          `kubernetes inventory of ${system}: not permitted to list ${result.forbidden.join(", ")} (kinds the config ` +
            `no longer renders); their objects are not pruned. Grant list and delete on them until they are ` +
            `gone (sysconfig rbac prints the rules for the kinds rendered now).`,
        );
      }
      deleteOrder.plan(result.actual, new Set(desired.map((d) => d.subject)));
      lastDryRuns = result.dryRuns;
      return result.actual;
    },
    async apply(change, context) {
      try {
        await kubernetesApply(
          client,
          change,
          {
            scope: scope(context.system),
            forceConflicts,
            lock,
            applied,
            established,
            deleteOrder,
            secrets: context.secrets,
          },
          context,
        );
      } finally {
        if (change.action === "delete") deleteOrder.sent(change.subject);
      }
    },
    checkHealth,
    async acquireLock(system, owner, wait) {
      const held = await acquireKubernetesLock(
        client,
        namespace,
        system,
        environment,
        owner,
        wait,
        t.lease,
        options.reporter,
      );
      lock = held;
      // What a rebuilt inventory found is recorded now, so the next run need not rebuild it.
      if (rebuilt !== undefined && rebuilt.length > 0) {
        await held.record(rebuilt.map((c) => collectionKey(c.info, c.namespace)));
      }
      return {
        async release() {
          if (lock === held) lock = undefined;
          await held.release();
        },
      };
    },
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}

/** The namespaces a system's objects may be in: the target's and every one the config uses. */
function namespacesOf(target: string, desired: readonly DesiredObject[]): string[] {
  const out = new Set([target]);
  for (const d of desired) {
    const ns = (d.spec as KubernetesDesiredSpec).namespace;
    if (ns !== undefined) out.add(ns);
  }
  return [...out].sort();
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
