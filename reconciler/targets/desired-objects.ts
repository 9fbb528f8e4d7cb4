// The pure half of each target: the objects it would manage for a desired state, computed without
// connecting to anything. validate, render, bump and build use it to refuse what plan would refuse.
import type { TargetKind } from "../config/schema.js";
import type { DesiredObject, DesiredState } from "../model.js";

/** The target kind's objects for `state`; throws InvalidInputError for a rendered file it cannot take. */
export async function desiredObjectsFor(
  kind: TargetKind,
  state: DesiredState,
): Promise<DesiredObject[] | undefined> {
  switch (kind) {
    case "fleet": {
      const { fleetDesiredObjects } = await import("./fleet/fleet-desired.js");
      return fleetDesiredObjects(state);
    }
    case "docker": {
      const { dockerDesiredObjects } = await import("./docker/desired.js");
      return dockerDesiredObjects(state);
    }
    case "kubernetes":
      // No kubernetes target yet (createTarget says so): its rendered manifests are only rendered.
      return undefined;
  }
}
