// Apply order within a service (DESIGN §6, kapp's change groups, Flux's stages): Namespaces and CRDs,
// cluster-wide config, namespaced config, Services, workloads — each kind's rank is in kinds.ts. These
// share a roll group, which the apply engine runs one at a time in rollIndex order, each confirmed healthy
// before the next (a CRD Established before anything after it), stopping at the first failure.
// What refers to workloads (HPAs, PDBs, Ingresses) and custom resources are applied beside the roll,
// not after the workload's rollout: nothing they need is in it, and --no-wait must not wait for a
// rollout. An object of a CRD this run creates waits in apply() until the CRD is Established.
// Deletes run after everything converged, in reverse dependency order.
import type { DesiredObject } from "../../model.js";
import type { KindInfo } from "./kinds.js";

/** Ranks at and above this are applied beside the service's roll (kinds.ts: referrers and custom resources). */
const BESIDE_ROLL_RANK = 5;

/** Sets the roll group and index that put a service's objects in kind order (document order within a kind). */
export function orderWithinService(
  object: DesiredObject,
  info: KindInfo,
  index: number,
  objectsInFile: number,
  /** The service's file renders a Namespace its other objects may live in: keep everything in the roll. */
  rendersNamespace = false,
): void {
  if (objectsInFile < 2) return;
  if (info.rank >= BESIDE_ROLL_RANK && !rendersNamespace) return;
  object.rollGroup = `${object.service}/objects`;
  object.rollIndex = info.rank * 1000 + index;
}
