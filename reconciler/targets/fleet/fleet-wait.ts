// Waits until a created or replaced unit runs its new file: /state shows the unit with the new hash
// and systemd active state "active". "failed" or the deadline ends the wait as unhealthy.
import type { Change, HealthReport } from "../../model.js";
import { reasonOf } from "../../errors.js";
import { pause } from "../lock-wait.js";
import type { ApplyContext } from "../target.js";
import type { FleetClient, FleetUnitState } from "./fleet-client.js";
import type { FleetDesiredSpec } from "./fleet-desired.js";

export async function fleetWaitHealthy(
  client: FleetClient,
  change: Change,
  context: ApplyContext,
  pollMs: number,
): Promise<HealthReport> {
  const subject = change.subject;
  const desired = change.desired;
  if (change.action === "delete" || !desired) return { subject, healthy: true };
  const spec = desired.spec as FleetDesiredSpec;
  if (spec.template) return { subject, healthy: true };
  let last = "no machine reports the unit yet";
  for (;;) {
    try {
      const states = await client.listStates({ unitName: desired.name });
      const current = states.filter((s) => s.hash === spec.fleetHash);
      const failed = current.find((s) => s.systemdActiveState === "failed");
      if (failed) return { subject, healthy: false, reason: `failed to start: ${describe(failed)}` };
      if (current.some((s) => s.systemdActiveState === "active")) return { subject, healthy: true };
      const seen = current[0] ?? states[0];
      if (seen) {
        last =
          seen.hash === spec.fleetHash
            ? describe(seen)
            : `machine ${short(seen.machineID)} still runs the previous unit file (hash ${seen.hash.slice(0, 7)})`;
      }
    } catch (error) {
      last = `cannot read /fleet/v1/state: ${reasonOf(error)}`;
    }
    const left = context.deadline - Date.now();
    if (context.signal?.aborted)
      return { subject, healthy: false, reason: `interrupted; last seen: ${last}` };
    if (left <= 0)
      return { subject, healthy: false, reason: `not active before the deadline; last seen: ${last}` };
    await pause(Math.min(pollMs, left), context.signal);
  }
}

function short(machineID: string): string {
  return machineID.slice(0, 8) || "(unknown)";
}

function describe(s: FleetUnitState): string {
  return `machine ${short(s.machineID)}: ${s.systemdLoadState}/${s.systemdActiveState}/${s.systemdSubState}`;
}
