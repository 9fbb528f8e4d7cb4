// Applies one change: create and update are the same PUT (an update is a replace: fleetd swaps the
// unit file when the options differ), always with desiredState; delete is DELETE (already gone is fine).
import type { Change } from "../../model.js";
import { InternalError, RuntimeFailureError, reasonOf } from "../../errors.js";
import { FleetRequestError, type FleetClient } from "./fleet-client.js";
import type { FleetDesiredSpec } from "./fleet-desired.js";

export async function fleetApply(client: FleetClient, change: Change): Promise<void> {
  try {
    switch (change.action) {
      case "create":
      case "update": {
        const desired = change.desired;
        if (!desired) throw new InternalError(`${change.subject} ${change.action}: no desired object`);
        const spec = desired.spec as FleetDesiredSpec;
        await client.setUnit(desired.name, { desiredState: spec.desiredState, options: spec.options });
        return;
      }
      case "delete": {
        const actual = change.actual;
        if (!actual) throw new InternalError(`${change.subject} delete: no actual object`);
        await client.destroyUnit(actual.name);
        return;
      }
      case "unchanged":
      case "unmanaged":
        return;
    }
  } catch (error) {
    if (error instanceof InternalError) throw error;
    const reason = error instanceof FleetRequestError ? error.reason : reasonOf(error);
    throw new RuntimeFailureError(`${change.subject} ${change.action} failed: ${reason}`, {
      cause: error,
      transient: error instanceof RuntimeFailureError && error.transient,
    });
  }
}
