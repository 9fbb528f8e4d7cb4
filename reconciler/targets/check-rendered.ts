// The pure, checking half of each target: whether it could take a desired state's rendered files, found
// without connecting to anything. validate, render, bump, build and plan use it to refuse what the target
// would refuse.
import type { TargetKind } from "../config/schema.js";
import type { DesiredState } from "../model.js";

/** Throws InvalidInputError when the target kind could not take a rendered file of `state`. */
export async function checkTargetCanTake(kind: TargetKind, state: DesiredState): Promise<void> {
  switch (kind) {
    case "fleet": {
      const { fleetDesiredObjects } = await import("./fleet/desired.js");
      fleetDesiredObjects(state);
      return;
    }
    case "docker": {
      const { dockerContainerSpecs } = await import("./docker/desired.js");
      dockerContainerSpecs(state);
      return;
    }
    case "kubernetes": {
      const { checkKubernetesManifests } = await import("./kubernetes/check-offline.js");
      checkKubernetesManifests(state);
      return;
    }
  }
}
