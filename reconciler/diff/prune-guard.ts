// The prune guard (DESIGN §6): refuses plans that delete too much. Pure: returns the refusal, never throws.
import { SafetyRefusalError } from "../errors.js";
import type { Change } from "../model.js";

export interface PruneGuardOptions {
  /** --max-delete; default 25% of owned objects, at least 1. */
  maxDelete?: number;
  /** --allow-mass-delete: lifts max-delete and empty-system, never empty-desired-state. */
  allowMassDelete: boolean;
}

export function defaultMaxDelete(owned: number): number {
  return Math.max(1, Math.floor(owned * 0.25));
}

/** The refusal for this plan, or undefined when it may be applied. `desiredCount` = desired objects. */
export function checkPruneGuard(
  changes: readonly Change[],
  desiredCount: number,
  options: PruneGuardOptions,
): SafetyRefusalError | undefined {
  const deletes = changes.filter((c) => c.action === "delete").length;
  if (deletes === 0) return undefined;
  const owned = changes.filter((c) => c.actual?.owned === true).length;
  const creates = changes.filter((c) => c.action === "create").length;
  if (desiredCount === 0) {
    return new SafetyRefusalError(
      "empty-desired-state",
      `refused by the prune guard (empty-desired-state): the desired state has no objects, so nothing is deleted ` +
        `(${deletes} owned object(s) would go). An empty config is far more often a broken build than an intent; ` +
        `no flag overrides this. To decommission the system, keep one service in the config or delete the objects by hand.`,
    );
  }
  if (options.allowMassDelete) return undefined;
  if (deletes === owned && creates === 0) {
    return new SafetyRefusalError(
      "empty-system",
      `refused by the prune guard (empty-system): the plan deletes all ${owned} owned object(s) and creates none, ` +
        `which would empty the system. If this is intended, pass --allow-mass-delete.`,
    );
  }
  const limit = options.maxDelete ?? defaultMaxDelete(owned);
  if (deletes > limit) {
    const origin = options.maxDelete === undefined ? " (default: 25% of owned objects, at least 1)" : "";
    return new SafetyRefusalError(
      "max-delete",
      `refused by the prune guard (max-delete): the plan deletes ${deletes} of ${owned} owned object(s), ` +
        `more than --max-delete ${limit}${origin}. If this is intended, pass --max-delete ${deletes} or --allow-mass-delete.`,
    );
  }
  return undefined;
}
