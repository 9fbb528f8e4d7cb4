// The fleet target: desired units from the rendered files, actual units from fleet's API v1 (directly
// or through an SSH tunnel), apply = PUT/DELETE, health = the new hash active in /fleet/v1/state (one
// walk of its pages per poll for every unit waited on).
import type { TargetConfig } from "../../config/schema.js";
import type { Target, TargetOptions } from "../target.js";
import { DEFAULT_FLEET_ENDPOINT, parseFleetEndpoint } from "./endpoint.js";
import { fleetReadActual, readFleetLists, type FleetLists } from "./actual.js";
import { fleetApply } from "./apply.js";
import { FleetClient } from "./client.js";
import { fleetDesiredObjects } from "./desired.js";
import { acquireFleetLock, DEFAULT_LOCK_TUNING, type FleetLock, type LockTuning } from "./lock.js";
import { fleetCheckHealth, type UnscheduledSince } from "./wait.js";
import type { OwnerScope } from "./marker.js";
import { createSshTunnel } from "./ssh-tunnel.js";

export type FleetTargetConfig = Extract<TargetConfig, { kind: "fleet" }>;

/** Knobs tests and benchmarks turn; production uses the defaults. */
export interface FleetTuning {
  /** The engine's first health poll after a change; later polls back off to healthPollMaxMs. */
  pollMs: number;
  healthPollMaxMs: number;
  /** A unit with no /state entry this long is reported as not taken by any machine. */
  unscheduledAfterMs: number;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  maxSockets: number;
  lock: LockTuning;
}

export const DEFAULT_FLEET_TUNING: FleetTuning = {
  pollMs: 250,
  healthPollMaxMs: 2_000,
  unscheduledAfterMs: 10_000,
  timeoutMs: 30_000,
  retries: 4,
  backoffMs: 250,
  maxSockets: 8,
  lock: DEFAULT_LOCK_TUNING,
};

export interface FleetTarget extends Target {
  readonly client: FleetClient;
}

export function createFleetTarget(
  config: FleetTargetConfig,
  options: TargetOptions,
  tuning: Partial<FleetTuning> = {},
): FleetTarget {
  const t = { ...DEFAULT_FLEET_TUNING, ...tuning };
  const endpoint = parseFleetEndpoint(
    options.endpoint ?? config.endpoint ?? DEFAULT_FLEET_ENDPOINT,
    options.endpoint !== undefined
      ? (options.endpointSource ?? "--endpoint")
      : `the ${options.environment ?? ""} environment's target.endpoint`,
  );
  const tunnel = config.tunnel
    ? createSshTunnel(config.tunnel, {
        env: options.env,
        reporter: options.reporter,
        ...(options.requestTimeoutMs !== undefined
          ? { readyTimeoutMs: options.requestTimeoutMs, channelTimeoutMs: options.requestTimeoutMs }
          : {}),
      })
    : undefined;
  const client = new FleetClient({
    endpoint,
    ...(tunnel ? { connect: () => tunnel.connect(endpoint) } : {}),
    timeoutMs: options.requestTimeoutMs ?? t.timeoutMs,
    retries: t.retries,
    backoffMs: t.backoffMs,
    maxSockets: t.maxSockets,
  });
  // Unit names of the desired state last handed to desiredObjects(): the pipeline plans before it
  // reads, and ownership of units with an old-style marker depends on them (marker.ts ownsUnit).
  let desired: ReadonlySet<string> | undefined;
  let lock: FleetLock | undefined;
  const unscheduled: UnscheduledSince = new Map();
  // The lists read while our lock settles (half a second): the plan that follows uses them, so a
  // no-op costs little more than the list walks. Safe: they are used only once the lock is confirmed,
  // and no other reconciler can have applied anything between our lock write and that confirmation.
  let prefetched: { system: string; lists: Promise<FleetLists> } | undefined;
  const scope = (system: string): OwnerScope => ({ system, environment: options.environment, desired });
  return {
    kind: "fleet",
    client,
    desiredObjects(state) {
      const objects = fleetDesiredObjects(state);
      desired = new Set(objects.map((o) => o.name));
      return objects;
    },
    prefetchActual(system) {
      const lists = readFleetLists(client);
      lists.catch(() => undefined); // a failure surfaces in readActual, as a direct read's would
      prefetched = { system, lists };
    },
    readActual: (system) => {
      const early = prefetched?.system === system ? prefetched.lists : undefined;
      prefetched = undefined;
      return fleetReadActual(client, scope(system), early);
    },
    apply: (change, context) =>
      fleetApply(client, change, { scope: scope(context.system), lock, secrets: context.secrets }),
    checkHealth: (changes) => fleetCheckHealth(client, changes, unscheduled, t.unscheduledAfterMs),
    healthPolling: { initialMs: t.pollMs, maxMs: Math.max(t.pollMs, t.healthPollMaxMs) },
    async acquireLock(system, owner, wait) {
      const held = await acquireFleetLock(client, system, owner, wait, t.lock, options.reporter, () => {
        const lists = readFleetLists(client);
        lists.catch(() => undefined); // a failure surfaces in readActual, as a direct read's would
        prefetched = { system, lists };
      });
      lock = held;
      return {
        async release() {
          if (lock === held) lock = undefined;
          await held.release();
        },
      };
    },
    async close() {
      client.close();
      await tunnel?.close();
    },
  };
}
