// The apply stage: the only stage that changes the target. Creates and updates run level by level in
// dependency order (bounded parallelism within a level), roll groups one instance at a time, deletes
// last in reverse order, and only when every desired object converged (none failed, was skipped or
// refused by a conflict). One failure never hides
// another: every change gets a result.
import { reasonOf } from "../errors.js";
import type { Change } from "../model.js";
import { maskSecrets } from "../plan/mask.js";
import type { Reporter } from "../report/reporter.js";
import type { ApplyContext, Target } from "../targets/target.js";
import { mapBounded } from "./pool.js";
import { isFailure, type ChangeResult } from "./result.js";
import { waitForHealth } from "./wait.js";

export const DEFAULT_PARALLELISM = 8;
const INTERRUPTED = "interrupted before it was applied";

export interface ApplyOptions {
  system: string;
  revision: string;
  reporter: Reporter;
  /** Dependency level of each service (dependencyLevels()). */
  levels: Map<string, number>;
  /** Most changes in flight at once within a level. */
  parallelism: number;
  /** Wait for health after creates and updates (--no-wait turns it off, except inside a roll). */
  wait: boolean;
  /** --timeout: how long any one object may take to apply and become healthy. */
  timeoutMs: number;
  /** Aborted on SIGINT/SIGTERM: nothing new is started. */
  signal?: AbortSignal;
}

/** Changes applied together: one object, or a roll group in rollIndex order. */
interface Unit {
  service: string;
  dependsOn: string[];
  level: number;
  changes: Change[];
  rollGroup?: string;
}

const PREFIX = { create: "+", update: "~", delete: "-", unchanged: " ", unmanaged: "!" } as const;

export async function applyChanges(
  target: Target,
  changes: readonly Change[],
  options: ApplyOptions,
): Promise<ChangeResult[]> {
  const results = new Map<string, ChangeResult>();
  const failedServices = new Set<string>();
  const record = (result: ChangeResult, service: string | undefined): void => {
    results.set(result.subject, result);
    if (service !== undefined && isFailure(result)) failedServices.add(service);
  };

  for (const change of changes.filter((c) => c.conflict === true)) {
    record(
      {
        subject: change.subject,
        action: change.action,
        status: "refused",
        reason: "conflict: the name is held by an object sysconfig did not create",
      },
      change.desired?.service,
    );
  }

  const forward = forwardUnits(changes, options.levels);
  for (const level of [...new Set(forward.map((u) => u.level))].sort((a, b) => a - b)) {
    await mapBounded(
      forward.filter((u) => u.level === level),
      options.parallelism,
      async (unit) => {
        const failedDep = unit.dependsOn.find((dep) => failedServices.has(dep));
        if (failedDep !== undefined) {
          for (const change of unit.changes) {
            record(skip(change, `dependency ${failedDep} did not converge`), unit.service);
          }
          return;
        }
        await runUnit(target, unit, options, record);
      },
    );
  }

  // Prune only after a healthy sync (as kapp and Argo CD do): while the desired state has not
  // converged, what is still running may be the only thing serving, so nothing is deleted. Every
  // desired object counts: a create or update that failed, was unhealthy or skipped, and one refused
  // because its name is held by an object sysconfig did not create (a rename web → web2 while
  // something else holds web2 must not delete web).
  const notConverged = [...results.values()].filter((r) => r.action !== "delete" && isFailure(r)).length;
  for (const group of deleteGroups(changes, options.levels)) {
    if (notConverged > 0) {
      const reason =
        options.signal?.aborted === true
          ? INTERRUPTED
          : `not pruned: ${notConverged} desired object(s) did not converge (failed, unhealthy, skipped or ` +
            `refused by a conflict); deletes run only after every desired object converged. Fix them and ` +
            `run reconcile again`;
      for (const change of group) {
        options.reporter.warn(`${PREFIX.delete} delete ${change.subject}: skipped: ${reason}`);
        record(skip(change, reason), change.actual?.service);
      }
      continue;
    }
    await mapBounded(group, options.parallelism, async (change) => {
      record(await applyOne(target, change, false, options), change.actual?.service);
    });
  }

  return changes.flatMap((c) => {
    const result = results.get(c.subject);
    return result ? [result] : [];
  });
}

async function runUnit(
  target: Target,
  unit: Unit,
  options: ApplyOptions,
  record: (result: ChangeResult, service: string | undefined) => void,
): Promise<void> {
  for (const [index, change] of unit.changes.entries()) {
    const last = index === unit.changes.length - 1;
    // Inside a roll each instance is confirmed before the next, even with --no-wait: that is the roll.
    const wait = options.wait || (unit.rollGroup !== undefined && !last);
    const result = await applyOne(target, change, wait, options);
    record(result, unit.service);
    if (isFailure(result) && unit.rollGroup !== undefined) {
      const reason =
        options.signal?.aborted === true
          ? INTERRUPTED
          : `roll of ${unit.rollGroup} stopped: ${change.subject} ${result.status}`;
      for (const rest of unit.changes.slice(index + 1)) record(skip(rest, reason), unit.service);
      return;
    }
  }
}

async function applyOne(
  target: Target,
  change: Change,
  wait: boolean,
  options: ApplyOptions,
): Promise<ChangeResult> {
  if (options.signal?.aborted === true) return skip(change, INTERRUPTED);
  const context: ApplyContext = {
    system: options.system,
    revision: options.revision,
    reporter: options.reporter,
    deadline: Date.now() + options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const label = `${PREFIX[change.action]} ${change.action} ${change.subject}`;
  options.reporter.info(`${label} …`);
  try {
    await target.apply(change, context);
  } catch (error) {
    const reason = maskSecrets(reasonOf(error));
    options.reporter.warn(`${label}: failed: ${reason}`);
    return { subject: change.subject, action: change.action, status: "failed", reason };
  }
  if (!wait || change.action === "delete") {
    options.reporter.debug(`${label}: applied`);
    return { subject: change.subject, action: change.action, status: "applied" };
  }
  const health = await waitForHealth(target, change, context);
  if (health.healthy) {
    options.reporter.info(`${label}: healthy`);
    return { subject: change.subject, action: change.action, status: "healthy" };
  }
  const reason = maskSecrets(health.reason);
  options.reporter.warn(`${label}: unhealthy: ${reason}`);
  return { subject: change.subject, action: change.action, status: "unhealthy", reason };
}

function skip(change: Change, reason: string): ChangeResult {
  return { subject: change.subject, action: change.action, status: "skipped", reason };
}

/** Creates and updates grouped into units: roll groups together in rollIndex order, others alone. */
function forwardUnits(changes: readonly Change[], levels: Map<string, number>): Unit[] {
  const units: Unit[] = [];
  const rolls = new Map<string, Unit>();
  for (const change of changes) {
    const desired = change.desired;
    if ((change.action !== "create" && change.action !== "update") || desired === undefined) continue;
    const base = {
      service: desired.service,
      dependsOn: desired.dependsOn,
      level: levels.get(desired.service) ?? 0,
    };
    if (desired.rollGroup === undefined) {
      units.push({ ...base, changes: [change] });
      continue;
    }
    let roll = rolls.get(desired.rollGroup);
    if (roll === undefined) {
      roll = { ...base, changes: [], rollGroup: desired.rollGroup };
      rolls.set(desired.rollGroup, roll);
      units.push(roll);
    }
    roll.changes.push(change);
  }
  for (const roll of rolls.values()) {
    roll.changes.sort((a, b) => (a.desired?.rollIndex ?? 0) - (b.desired?.rollIndex ?? 0));
  }
  return units;
}

/** Deletes grouped by reverse dependency level; services no longer configured go first. */
function deleteGroups(changes: readonly Change[], levels: Map<string, number>): Change[][] {
  const byLevel = new Map<number, Change[]>();
  for (const change of changes) {
    if (change.action !== "delete") continue;
    const service = change.actual?.service;
    const level = (service !== undefined ? levels.get(service) : undefined) ?? Number.POSITIVE_INFINITY;
    byLevel.set(level, [...(byLevel.get(level) ?? []), change]);
  }
  return [...byLevel.entries()].sort(([a], [b]) => b - a).map(([, group]) => group);
}
