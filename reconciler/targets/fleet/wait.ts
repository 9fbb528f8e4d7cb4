// Health of created or replaced units, for the engine's shared watcher: one walk of /fleet/v1/state
// (every page, once) per poll answers for every unit waited on. A unit is healthy when /state shows
// it with its new hash and systemd active state "active", failed when "failed". A unit with no /state
// entry has not been taken by any machine (fleetd schedules on its engine pass every 2 s and the agent
// reports on its own pass, so 2-5 s is normal): past `unscheduledAfterMs` the reason says so and
// names the usual cause — [X-Fleet] Conflicts= or MachineMetadata= no machine satisfies.
import type { Change } from "../../model.js";
import { reasonOf } from "../../errors.js";
import type { HealthCheck } from "../target.js";
import type { FleetClient, FleetUnitState } from "./client.js";
import type { FleetDesiredSpec } from "./desired.js";

/** Remembers since when each unit version has had no /state entry; one per target. */
export type UnscheduledSince = Map<string, number>;

export async function fleetCheckHealth(
  client: FleetClient,
  changes: readonly Change[],
  unscheduled: UnscheduledSince,
  unscheduledAfterMs: number,
): Promise<Map<string, HealthCheck>> {
  const answers = new Map<string, HealthCheck>();
  const waited = changes.filter((c) => {
    const spec = c.desired?.spec as FleetDesiredSpec | undefined;
    if (c.action === "delete" || !spec || spec.template) {
      answers.set(c.subject, { state: "healthy" });
      return false;
    }
    return true;
  });
  if (waited.length === 0) return answers;
  let states: FleetUnitState[];
  try {
    states = await client.listStates();
  } catch (error) {
    const reason = `cannot read /fleet/v1/state: ${reasonOf(error)}`;
    for (const c of waited) answers.set(c.subject, { state: "pending", reason });
    return answers;
  }
  const byUnit = new Map<string, FleetUnitState[]>();
  for (const s of states) byUnit.set(s.name, [...(byUnit.get(s.name) ?? []), s]);
  const now = Date.now();
  for (const change of waited) {
    const name = change.desired?.name ?? "";
    // Not healthy but unchanged: the live unit file is the one to see active (its marker's revision
    // may be older than this run's, so the desired unit file's hash would never show up).
    const live =
      change.action === "unhealthy" ? (change.actual?.spec as { fleetHash?: string } | undefined) : undefined;
    const spec = { fleetHash: live?.fleetHash ?? (change.desired?.spec as FleetDesiredSpec).fleetHash };
    const key = `${name}\n${spec.fleetHash}`;
    const seen = byUnit.get(name) ?? [];
    if (seen.length > 0) unscheduled.delete(key);
    else if (!unscheduled.has(key)) unscheduled.set(key, now);
    answers.set(
      change.subject,
      classify(seen, spec.fleetHash, now - (unscheduled.get(key) ?? now), unscheduledAfterMs),
    );
  }
  return answers;
}

/** One unit's health from its /state entries (one per machine reporting it). */
export function classify(
  seen: readonly FleetUnitState[],
  hash: string,
  unscheduledMs: number,
  unscheduledAfterMs: number,
): HealthCheck {
  const current = seen.filter((s) => s.hash === hash);
  const failed = current.find((s) => s.systemdActiveState === "failed");
  if (failed) return { state: "failed", reason: `failed to start: ${describe(failed)}` };
  if (current.some((s) => s.systemdActiveState === "active")) return { state: "healthy" };
  const first = current[0] ?? seen[0];
  if (first) {
    return {
      state: "pending",
      reason:
        first.hash === hash
          ? describe(first)
          : `machine ${short(first.machineID)} still runs the previous unit file (hash ${first.hash.slice(0, 7)})`,
    };
  }
  if (unscheduledMs < unscheduledAfterMs) {
    return { state: "pending", reason: "no machine has taken it yet (no /fleet/v1/state entry)" };
  }
  return {
    state: "pending",
    reason:
      `no machine has taken it after ${Math.round(unscheduledMs / 1000)} s: check its [X-Fleet] ` +
      "Conflicts/MachineMetadata against `fleetctl list-machines`",
  };
}

function short(machineID: string): string {
  return machineID.slice(0, 8) || "(unknown)";
}

function describe(s: FleetUnitState): string {
  return `machine ${short(s.machineID)}: ${s.systemdLoadState}/${s.systemdActiveState}/${s.systemdSubState}`;
}
