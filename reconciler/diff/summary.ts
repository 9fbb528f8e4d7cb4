// Counts of a change set, and whether anything is pending: the plan's summary line and exit code 2.
import type { Change } from "../model.js";

export interface ChangeSummary {
  create: number;
  update: number;
  delete: number;
  unchanged: number;
  /** Owned objects with the desired spec that are not healthy: not converged, reconcile waits for them. */
  unhealthy: number;
  unmanaged: number;
  /** Unmanaged objects that hold a desired name (included in `unmanaged`). */
  conflict: number;
}

export function summarize(changes: readonly Change[]): ChangeSummary {
  const summary: ChangeSummary = {
    create: 0,
    update: 0,
    delete: 0,
    unchanged: 0,
    unhealthy: 0,
    unmanaged: 0,
    conflict: 0,
  };
  for (const change of changes) {
    summary[change.action] += 1;
    if (change.conflict === true) summary.conflict += 1;
  }
  return summary;
}

/**
 * True when reconcile has work to do or the target has not converged (a conflict, an object that is
 * not healthy): `plan --exit-code` exits 2, and reconcile does not stop at "Nothing to do.".
 */
export function hasPendingChanges(summary: ChangeSummary): boolean {
  return summary.create + summary.update + summary.delete + summary.unhealthy + summary.conflict > 0;
}

/** The changes the apply stage acts on (sends or waits for), in the order they were planned. */
export function actionable(changes: readonly Change[]): Change[] {
  return changes.filter(
    (c) =>
      c.action === "create" || c.action === "update" || c.action === "delete" || c.action === "unhealthy",
  );
}
