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
import { KubernetesClient, type ClientTuning } from "./client.js";
import { listCollection } from "./collections.js";
import { resolveConnection } from "./endpoint.js";
import {
  acquireKubernetesLock,
  DEFAULT_LEASE_TUNING,
  readInventory,
  type KubernetesLock,
  type LeaseTuning,
} from "./lock.js";
import { kubernetesDesiredObjects, LABEL, type OwnerScope } from "./desired.js";
import { classifyHealth, healthCollections } from "./wait.js";
import type { DesiredObject } from "../../model.js";
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
  let lastDryRuns = 0;
  const dryRunCache: DryRunCache = new Map();
  const scope = (system: string): OwnerScope => ({ system, environment });

  const checkHealth = async (
    changes: readonly Change[],
    context?: ApplyContext,
  ): Promise<Map<string, HealthCheck>> => {
    // Only this system's objects: a shared namespace may hold many others.
    const selector = context === undefined ? undefined : `${LABEL.system}=${context.system}`;
    const keys = healthCollections(changes);
    const lists = new Map(
      await mapBounded(
        keys,
        t.parallelism,
        async (key) => [key, await listCollection(client, key, selector)] as const,
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
    desiredObjects(state) {
      if (state.target.kind !== "kubernetes") {
        throw new InvalidInputError(`kubernetes target: the desired state is for ${state.target.kind}`);
      }
      desired = kubernetesDesiredObjects(state);
      return desired;
    },
    async readActual(system, purpose = "plan") {
      const inventory = await readInventory(client, namespace, system, environment);
      const result = await kubernetesReadActual(client, desired, {
        scope: scope(system),
        inventory,
        parallelism: t.parallelism,
        forceConflicts,
        cache: dryRunCache,
        dryRunChanged: purpose === "plan",
      });
      lastDryRuns = result.dryRuns;
      return result.actual;
    },
    apply: (change, context) =>
      kubernetesApply(client, change, { scope: scope(context.system), forceConflicts, lock, applied }),
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

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
