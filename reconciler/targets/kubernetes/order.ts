// Apply order within a service (DESIGN §6): Namespaces and CRDs, then config (ServiceAccount, RBAC,
// ConfigMap, Secret, PVC), then Services, then workloads — each kind's rank is in kinds.ts.
// A service's objects share a roll group, which the apply engine runs one at a time in rollIndex order
// (stopping at the first failure); deletes run after everything converged, in reverse dependency order.
import type { DesiredObject } from "../../model.js";
import type { KindInfo } from "./kinds.js";

/** Sets the roll group and index that put a service's objects in kind order (document order within a kind). */
export function orderWithinService(
  object: DesiredObject,
  info: KindInfo,
  index: number,
  objectsInFile: number,
): void {
  if (objectsInFile < 2) return;
  object.rollGroup = `${object.service}/objects`;
  object.rollIndex = info.rank * 1000 + index;
}
