// The pure, checking half of each target: whether it could take a desired state's rendered files, found
// without connecting to anything. validate, render, bump, build and plan use it to refuse what the target
// would refuse.
import type { TargetKind } from "../config/schema.js";
import { cooperative } from "../concurrency/yield.js";
import type { DesiredState } from "../model.js";

/** Rendered files checked between two chances for I/O callbacks to run. */
const CHECK_SLICE = 50;

/** Throws InvalidInputError when the target kind could not take a rendered file of `state`. */
export async function checkTargetCanTake(kind: TargetKind, state: DesiredState): Promise<void> {
  switch (kind) {
    case "fleet": {
      const { checkFleetUnits } = await import("./fleet/desired.js");
      // Each file is checked on its own, so in slices that let a prefetch's pages in between.
      const pause = cooperative();
      for (let at = 0; at < state.files.length; at += CHECK_SLICE) {
        checkFleetUnits({ ...state, files: state.files.slice(at, at + CHECK_SLICE) });
        await pause();
      }
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
