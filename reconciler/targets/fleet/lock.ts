// The per-system reconcile lock on fleet — BEST EFFORT, and this says exactly how far it goes.
//
// fleet's API has no atomic create-if-absent: PUT on an existing unit replaces it. So the lock is a
// unit `sysconfig-lock-<system>.service` (never launched, desiredState inactive) whose
// [X-Sysconfig-Lock] section names the holder, a random token and an expiry time. To acquire:
// GET it; if a live lock of someone else is there, refuse (exit 4) or wait up to --lock-timeout; else PUT ours, wait
// `settleMs`, GET again and hold it only if our token is still there. The holder re-writes the expiry
// every ttl/3; a crashed holder blocks others for at most `ttlMs`.
//
// Guaranteed: a reconcile that starts while another one holds a live lock never applies (it is refused
// or waits), and a crashed holder's lock expires by itself. NOT guaranteed: two reconcilers starting
// within the same moment can both hold it — if B reads "free" before A's PUT and B's PUT lands after
// A's read-back, both proceed. The read-back narrows that window to the gap between one process's read
// and its write; it cannot close it. Expiry uses the writer's clock, so clocks must agree within the
// TTL. Release deletes the unit only if our token is still in it (check-then-delete, same caveat).
// A holder that finds another token at a renewal, cannot renew, or passes its own expiry knows it has
// lost the lock: it applies nothing more (every later change fails naming the lost lock, exit 1).
// For a hard guarantee run one scheduled reconciler per system; the lock then catches overlapping
// manual runs.
import { reasonOf, RuntimeFailureError, SafetyRefusalError } from "../../errors.js";
import type { Reporter } from "../../report/reporter.js";
import { lockWaiter, pause, type LockWait, type LockWaiter } from "../lock-wait.js";
import type { TargetLock } from "../target.js";
import type { FleetClient, FleetUnit } from "./client.js";
import type { UnitOption } from "./unit-file.js";
import { LOCK_NAME_PREFIX } from "../lock-names.js";
import { nodeCrypto } from "../../text/lazy-crypto.js";

export const LOCK_PREFIX = LOCK_NAME_PREFIX;
export const LOCK_SECTION = "X-Sysconfig-Lock";

export interface LockTuning {
  ttlMs: number;
  settleMs: number;
  pollMs: number;
}

export const DEFAULT_LOCK_TUNING: LockTuning = { ttlMs: 120_000, settleMs: 500, pollMs: 2_000 };

interface LockHolder {
  owner: string;
  token: string;
  acquired: string;
  expires: number;
}

export function lockUnitName(system: string): string {
  return `${LOCK_PREFIX}${system}.service`;
}

export function isLockUnit(unit: FleetUnit): boolean {
  return unit.name.startsWith(LOCK_PREFIX) && unit.options.some((o) => o.section === LOCK_SECTION);
}

function lockOptions(system: string, holder: LockHolder): UnitOption[] {
  return [
    { section: "Unit", name: "Description", value: `sysconfig reconcile lock for ${system} (never started)` },
    { section: LOCK_SECTION, name: "System", value: system },
    { section: LOCK_SECTION, name: "Owner", value: holder.owner },
    { section: LOCK_SECTION, name: "Token", value: holder.token },
    { section: LOCK_SECTION, name: "Acquired", value: holder.acquired },
    { section: LOCK_SECTION, name: "Expires", value: new Date(holder.expires).toISOString() },
  ];
}

function readHolder(unit: FleetUnit | undefined): LockHolder | undefined {
  if (!unit) return undefined;
  const f = new Map(unit.options.filter((o) => o.section === LOCK_SECTION).map((o) => [o.name, o.value]));
  const token = f.get("Token");
  const expires = Date.parse(f.get("Expires") ?? "");
  if (!token || Number.isNaN(expires)) return undefined;
  return { owner: f.get("Owner") ?? "(unknown)", token, acquired: f.get("Acquired") ?? "", expires };
}

export async function acquireFleetLock(
  client: FleetClient,
  system: string,
  owner: string,
  wait: LockWait,
  tuning: LockTuning,
  reporter: Reporter,
  /** Called each time our lock is written, while it settles (fleet-target starts its reads then). */
  whileSettling?: () => void,
): Promise<FleetLock> {
  const name = lockUnitName(system);
  const waiter = lockWaiter(wait);
  const mine: LockHolder = {
    owner,
    token: nodeCrypto().randomBytes(16).toString("hex"),
    acquired: new Date().toISOString(),
    expires: 0,
  };
  const write = async (): Promise<void> => {
    mine.expires = Date.now() + tuning.ttlMs;
    await client.setUnit(name, { desiredState: "inactive", options: lockOptions(system, mine) });
  };
  let announced = false;
  // Someone else's token is in the unit (so none of ours is left): refuse, give up at the deadline, or wait.
  const heldBy = async (holder: LockHolder): Promise<void> => {
    waiter.assertNotInterrupted(`fleet lock ${name}`);
    if (waiter.expired()) throw lockHeld(name, system, holder, wait === false ? undefined : waiter);
    if (!announced) reporter.info(`waiting for the fleet lock ${name} held by ${holder.owner}`);
    announced = true;
    await waiter.pause(tuning.pollMs);
  };
  for (;;) {
    const holder = readHolder(await client.getUnit(name));
    if (holder && holder.token !== mine.token && holder.expires > Date.now()) {
      await heldBy(holder);
      continue;
    }
    if (holder && holder.token !== mine.token) {
      reporter.warn(`taking over the expired fleet lock ${name} of ${holder.owner}`);
    }
    await write();
    whileSettling?.();
    await pause(tuning.settleMs);
    const after = readHolder(await client.getUnit(name));
    if (after?.token === mine.token) break;
    if (!after) continue;
    // Another PUT replaced ours within the settle time: that reconciler holds it now.
    await heldBy(after);
  }
  return startHeartbeat(client, name, mine, tuning, reporter, write);
}

/** A held fleet lock that also knows when it was lost while held. */
export interface FleetLock extends TargetLock {
  /** Throws a RuntimeFailureError once the lock is known lost; apply calls it before every mutation. */
  assertHeld(): void;
}

function startHeartbeat(
  client: FleetClient,
  name: string,
  mine: LockHolder,
  tuning: LockTuning,
  reporter: Reporter,
  write: () => Promise<void>,
): FleetLock {
  let released = false;
  let lost: string | undefined;
  let beating: Promise<void> | undefined;
  const loseIt = (reason: string): void => {
    if (lost !== undefined || released) return;
    lost = reason;
    clearInterval(timer);
    reporter.warn(`lost the fleet lock ${name}: ${reason}; nothing more will be applied`);
  };
  const beat = async (): Promise<void> => {
    try {
      const holder = readHolder(await client.getUnit(name));
      if (released || lost !== undefined) return;
      if (holder?.token !== mine.token) {
        loseIt(holder ? `${holder.owner} holds it now` : "its lock unit is gone");
        return;
      }
      await write();
    } catch (error) {
      // Unable to renew, we cannot know whether someone else took it over: treat it as lost.
      loseIt(`renewing it failed: ${reasonOf(error)}`);
    }
  };
  const timer = setInterval(
    () => {
      if (beating === undefined) beating = beat().finally(() => (beating = undefined));
    },
    Math.max(1, Math.floor(tuning.ttlMs / 3)),
  );
  timer.unref();
  return {
    assertHeld(): void {
      // A stalled heartbeat also ends the hold: past our own expiry anyone may take the lock over.
      if (lost === undefined && !released && Date.now() >= mine.expires) loseIt("it expired without renewal");
      if (lost === undefined) return;
      throw new RuntimeFailureError(
        `fleet lock ${name} lost: ${lost}. Another reconcile may be applying; the remaining changes were not ` +
          `applied. Run reconcile again once that run is over; it picks up from the actual state.`,
        { transient: false },
      );
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      clearInterval(timer);
      // A renewal still in flight must land before the delete, or its PUT would recreate the lock.
      await beating;
      const holder = readHolder(await client.getUnit(name));
      if (holder?.token === mine.token) await client.destroyUnit(name);
    },
  };
}

function lockHeld(
  name: string,
  system: string,
  holder: LockHolder,
  waited: LockWaiter | undefined,
): SafetyRefusalError {
  const who = `${holder.owner}, since ${holder.acquired}, expires ${new Date(holder.expires).toISOString()}`;
  const removeHint = `if that run is gone: fleetctl destroy ${name}`;
  return new SafetyRefusalError(
    "lock",
    waited
      ? `fleet lock ${name} acquire failed: gave up waiting for the lock ${name} held by ${who} ` +
          `${waited.gaveUpAfter}. Nothing was changed. Remove it by hand ${removeHint}`
      : `fleet lock ${name} acquire failed: another reconcile of '${system}' holds it: ${who}. Nothing was ` +
          `changed. Wait for it with --wait-lock, or ${removeHint}`,
  );
}
