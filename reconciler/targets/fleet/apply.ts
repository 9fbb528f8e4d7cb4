// Applies one change: create and update are the same PUT (an update is a replace: fleetd swaps the
// unit file when the options differ), always with desiredState; delete is DELETE (already gone is fine).
// fleet has no create-if-absent, so a create first checks that no unit took the name since the plan.
import type { Change } from "../../model.js";
import { InternalError, reasonOf } from "../../errors.js";
import { changeFailure, NotTouchedError, sendsNothing } from "../apply-change.js";
import { FleetRequestError, type FleetClient } from "./client.js";
import type { FleetDesiredSpec } from "./desired.js";
import type { FleetLock } from "./lock.js";
import { ownsUnit, readMarker, type OwnerScope } from "./marker.js";
import { NO_SECRET_VALUES, type SecretValues } from "../../secrets/open.js";
import { resolveSecretOptions } from "./secret-env.js";
import { fleetUnitHash } from "./unit-file.js";

export interface FleetApplyGuards {
  /** Decides whether a unit found at apply time is ours. */
  scope: OwnerScope;
  /** The lock this run holds, if any: nothing is changed once it is lost. */
  lock?: FleetLock | undefined;
  /** This run's decrypted values (secret-env.ts). */
  secrets?: SecretValues | undefined;
}

export async function fleetApply(
  client: FleetClient,
  change: Change,
  guards: FleetApplyGuards,
): Promise<void> {
  try {
    guards.lock?.assertHeld();
    if (sendsNothing(change.action)) return;
    switch (change.action) {
      case "create":
      case "update": {
        const desired = change.desired;
        if (!desired) throw new InternalError(`${change.subject} ${change.action}: no desired object`);
        const spec = desired.spec as FleetDesiredSpec;
        if (change.action === "create") {
          const now = await client.getUnit(desired.name);
          if (now && !ownsUnit(now.name, readMarker(now.options), guards.scope)) {
            throw new NotTouchedError(
              `${change.subject} create not applied: ${desired.name} appeared on fleet since the plan and ` +
                `sysconfig does not own it; it was not touched. Find out who created it, remove or rename ` +
                `it by hand, then reconcile again.`,
            );
          }
        }
        // Values go to fleet only here; the hash /state will report is the resolved unit's (wait.ts reads it).
        const options = resolveSecretOptions(spec.options, guards.secrets ?? NO_SECRET_VALUES);
        if (options.some((o, i) => o !== spec.options[i])) spec.fleetHash = fleetUnitHash(options);
        await client.setUnit(desired.name, { desiredState: spec.desiredState, options });
        return;
      }
      case "delete": {
        const actual = change.actual;
        if (!actual) throw new InternalError(`${change.subject} delete: no actual object`);
        await client.destroyUnit(actual.name);
        return;
      }
    }
  } catch (error) {
    const reason = error instanceof FleetRequestError ? error.reason : reasonOf(error);
    throw changeFailure(change, error, reason);
  }
}
