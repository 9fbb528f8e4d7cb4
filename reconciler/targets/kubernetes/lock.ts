// The reconcile lock: a coordination.k8s.io/v1 Lease per system in the environment's namespace.
// Taking it is atomic (create fails with 409 when it exists; taking over an expired or released one
// is a PUT with its resourceVersion); the holder renews it with a JSON patch that first tests it is
// still the holder, so a lease taken over while we were stalled is never renewed by us. A holder that
// dies stops renewing and its lease expires after LEASE_SECONDS.
// The same Lease carries the inventory (inventory.ts): which collections (kind + namespace) held this
// system's objects, so pruning lists them even after the config stopped using a kind.
import os from "node:os";
import { RuntimeFailureError, SafetyRefusalError, reasonOf } from "../../errors.js";
import type { Reporter } from "../../report/reporter.js";
import { lockWaiter, type LockWait } from "../lock-wait.js";
import { KubernetesRequestError, type KubernetesClient } from "./client.js";
import type { CollectionKey } from "./collections.js";
import { inventoryAnnotation, leaseName, leasePath, parseInventory } from "./inventory.js";

export interface LeaseTuning {
  leaseSeconds: number;
  renewMs: number;
  retryMs: number;
}

export const DEFAULT_LEASE_TUNING: LeaseTuning = { leaseSeconds: 30, renewMs: 10_000, retryMs: 2_000 };

interface Lease {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function heldBy(lease: Lease, now: number): string | undefined {
  const holder = lease.spec?.holderIdentity;
  if (holder === undefined || holder === null || holder === "") return undefined;
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? "");
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  if (Number.isNaN(renewed) || renewed + duration < now) return undefined;
  return holder;
}

export interface KubernetesLock {
  /** Throws once the lease was lost (taken over after we failed to renew): nothing more is applied. */
  assertHeld(): void;
  /** Records collections in the inventory before objects are written to them (write-ahead). */
  record(keys: readonly CollectionKey[]): Promise<void>;
  release(): Promise<void>;
}

export async function acquireKubernetesLock(
  client: KubernetesClient,
  namespace: string,
  system: string,
  environment: string,
  owner: string,
  wait: LockWait,
  tuning: LeaseTuning,
  reporter: Reporter,
): Promise<KubernetesLock> {
  const name = leaseName(system);
  const what = `kubernetes lease ${namespace}/${name}`;
  const identity = `${owner} on ${os.hostname()}`;
  const waiter = lockWaiter(wait);
  const fresh = (lease?: Lease): Lease =>
    ({
      ...(lease ?? {}),
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { ...(lease?.metadata ?? {}), name, namespace },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: tuning.leaseSeconds,
        acquireTime: microTime(),
        renewTime: microTime(),
        leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (lease ? 1 : 0),
      },
    }) as Lease;
  let announced = false;
  for (;;) {
    waiter.assertNotInterrupted(what);
    const got = await client.request<Lease>("GET", leasePath(namespace, name), { accept: [404] });
    let taken: Lease | undefined;
    if (got.status === 404) {
      const res = await client.request<Lease>("POST", leasePath(namespace), {
        body: fresh(),
        accept: [404, 409],
      });
      if (res.status === 404) {
        throw new RuntimeFailureError(
          `${what} create failed: namespace ${namespace} does not exist. Create it first ` +
            `(kubectl apply -f sysconfig-example/deploy/kubernetes/namespace.yaml, or kubectl create namespace ${namespace}).`,
        );
      }
      if (res.status < 300) taken = res.body;
    } else {
      const holder = heldBy(got.body, Date.now());
      if (holder === undefined) {
        const res = await client.request<Lease>("PUT", leasePath(namespace, name), {
          body: fresh(got.body),
          accept: [409],
        });
        if (res.status < 300) taken = res.body;
      } else {
        if (waiter.expired()) {
          throw new SafetyRefusalError(
            "lock",
            `${what} is held by ${holder} (renewed ${got.body.spec?.renewTime ?? "?"}): another reconcile of ${system} is running. ` +
              `Nothing was changed. ${wait === false ? "Pass --wait-lock to wait for it" : `Gave up ${waiter.gaveUpAfter}`}; ` +
              `a holder that died releases the lock ${tuning.leaseSeconds} s after its last renewal.`,
          );
        }
        if (!announced) reporter.info(`${what} is held by ${holder}; waiting …`);
        announced = true;
      }
    }
    if (taken) return holdLease(client, namespace, name, environment, identity, taken, tuning, reporter);
    await waiter.pause(tuning.retryMs);
  }
}

function holdLease(
  client: KubernetesClient,
  namespace: string,
  name: string,
  environment: string,
  identity: string,
  lease: Lease,
  tuning: LeaseTuning,
  reporter: Reporter,
): KubernetesLock {
  const what = `kubernetes lease ${namespace}/${name}`;
  const path = leasePath(namespace, name);
  const annotation = inventoryAnnotation(environment);
  let lost: string | undefined;
  let released = false;
  const inventory = parseInventory(lease.metadata.annotations?.[annotation]);
  const recorded = new Set<CollectionKey>(inventory.keys);
  // A damaged inventory is rewritten whole on the first record.
  let dirty = inventory.state === "damaged";
  let writes: Promise<void> = Promise.resolve();
  const testHolder = { op: "test", path: "/spec/holderIdentity", value: identity };
  const patchJson = (ops: unknown[]) =>
    client.request("PATCH", path, { body: ops, contentType: "application/json-patch+json" });
  const renew = async (): Promise<void> => {
    try {
      await patchJson([testHolder, { op: "replace", path: "/spec/renewTime", value: microTime() }]);
    } catch (error) {
      // 422: the test failed, someone else holds it now. Transient failures were already retried.
      if (error instanceof KubernetesRequestError && error.status === 422) {
        lost = `taken over by another reconciler (${reasonOf(error)})`;
        reporter.warn(`${what} lost: ${lost}; nothing more is applied`);
      } else {
        reporter.warn(`${what} renew failed: ${reasonOf(error)}; retrying`);
      }
    }
  };
  const timer = setInterval(() => void renew(), tuning.renewMs);
  timer.unref();
  return {
    assertHeld() {
      if (lost !== undefined) {
        throw new RuntimeFailureError(
          `${what} lost: ${lost}. The rest was not applied; run reconcile again.`,
        );
      }
    },
    record(keys) {
      const missing = keys.filter((k) => !recorded.has(k));
      if (missing.length === 0 && !dirty) return writes;
      dirty = false;
      for (const k of missing) recorded.add(k);
      const value = JSON.stringify([...recorded].sort());
      writes = writes.then(() =>
        client
          .request("PATCH", path, {
            body: { metadata: { annotations: { [annotation]: value } } },
            contentType: "application/merge-patch+json",
          })
          .then(() => undefined),
      );
      return writes;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await writes.catch(() => undefined);
      if (lost !== undefined) return;
      await patchJson([
        testHolder,
        { op: "replace", path: "/spec/holderIdentity", value: "" },
        { op: "remove", path: "/spec/renewTime" },
      ]).catch((error: unknown) => {
        if (!(error instanceof KubernetesRequestError && error.status === 422)) throw error;
      });
    },
  };
}
