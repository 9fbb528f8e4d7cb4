// The apply stage: the only stage that changes the target. Creates and updates run level by level in
// dependency order: within a level every change is sent (at most `parallelism` requests at once) and
// then waited for together through one shared health watcher (health-watch.ts); roll groups go one
// instance at a time, every roll at once. Objects that exist as desired but are not healthy are waited
// for alongside (nothing is sent for them). Deletes run last in reverse order, and only when every
// desired object converged (none failed, stayed unhealthy, was skipped or refused by a conflict). One failure never
// hides another: every change gets a result.
import { reasonOf } from "../errors.js";
import { ACTION_SIGN, type Change } from "../model.js";
import { maskSecrets } from "../text/mask.js";
import type { Reporter } from "../report/reporter.js";
import type { SecretValues } from "../secrets/open.js";
import type { ApplyContext, Target } from "../targets/target.js";
import { createHealthWatcher, type HealthWatcher } from "./health-watch.js";
import { createLimiter, type Limiter } from "./limit.js";
import { isFailure, type ChangeResult } from "./result.js";

export const DEFAULT_PARALLELISM = 8;
const INTERRUPTED = "interrupted before it was applied";

export interface ApplyOptions {
  system: string;
  /** Decrypted secrets, handed to each apply (reconciler/secrets/open.ts). */
  secrets?: SecretValues;
  revision: string;
  reporter: Reporter;
  /** Dependency level of each service (dependencyLevels()). */
  levels: Map<string, number>;
  /** Most apply requests in flight at once within a level (waits are shared and not counted). */
  parallelism: number;
  /** Wait for health after creates and updates (--no-wait turns it off, except inside a roll). */
  wait: boolean;
  /** --timeout: how long any one object may take to apply and become healthy. */
  timeoutMs: number;
  /** A change still pending this long has its reason reported while the wait goes on (default 5 s). */
  reportPendingAfterMs?: number;
  /** Aborted on SIGINT/SIGTERM: nothing new is started. */
  signal?: AbortSignal;
  /** Told each change's result as soon as it is known (serve's live page); must not throw or block. */
  onResult?: (result: ChangeResult) => void;
}

/** Changes applied together: one object, or a roll group in rollIndex order. */
interface Unit {
  service: string;
  dependsOn: string[];
  level: number;
  changes: Change[];
  rollGroup?: string;
}

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
    options.onResult?.(result);
  };

  for (const change of changes.filter((c) => c.conflict === true)) {
    record(
      {
        subject: change.subject,
        action: change.action,
        status: "refused",
        reason:
          change.action === "update"
            ? `conflict: ${change.actual?.blockedBy?.join("; ") ?? "a name it needs is held by an object sysconfig did not create"}`
            : "conflict: the name is held by an object sysconfig did not create",
      },
      change.desired?.service,
    );
  }

  const forward = forwardUnits(changes, options.levels);
  const watcher = createHealthWatcher(
    target,
    {
      system: options.system,
      revision: options.revision,
      reporter: options.reporter,
      ...(options.signal ? { signal: options.signal } : {}),
    },
    { timeoutMs: options.timeoutMs, reportAfterMs: options.reportPendingAfterMs },
  );
  for (const level of [...new Set(forward.map((u) => u.level))].sort((a, b) => a - b)) {
    const limit = createLimiter(options.parallelism);
    const run: Run = { target, options, limit, watcher };
    await Promise.all(
      forward
        .filter((u) => u.level === level)
        .map(async (unit) => {
          const failedDep = unit.dependsOn.find((dep) => failedServices.has(dep));
          if (failedDep !== undefined) {
            for (const change of unit.changes) {
              record(skip(change, `dependency ${failedDep} did not converge`), unit.service);
            }
            return;
          }
          await runUnit(run, unit, record);
        }),
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
        options.reporter.warn(`${ACTION_SIGN.delete} delete ${change.subject}: skipped: ${reason}`);
        record(skip(change, reason), change.actual?.service);
      }
      continue;
    }
    const run: Run = { target, options, limit: createLimiter(options.parallelism), watcher };
    await Promise.all(
      group.map(async (change) => record(await applyOne(run, change, false), change.actual?.service)),
    );
  }

  return changes.flatMap((c) => {
    const result = results.get(c.subject);
    return result ? [result] : [];
  });
}

/** What every change of one level shares: the apply limit and the target's health watcher. */
interface Run {
  target: Target;
  options: ApplyOptions;
  limit: Limiter;
  watcher: HealthWatcher;
}

async function runUnit(
  run: Run,
  unit: Unit,
  record: (result: ChangeResult, service: string | undefined) => void,
): Promise<void> {
  const options = run.options;
  for (const [index, change] of unit.changes.entries()) {
    const last = index === unit.changes.length - 1;
    // Inside a roll each instance is confirmed before the next, even with --no-wait: that is the roll.
    const wait = options.wait || (unit.rollGroup !== undefined && !last);
    const result = await applyOne(run, change, wait);
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

/** Sends one change (within the level's limit), then waits for it through the shared watcher. */
async function applyOne(run: Run, change: Change, wait: boolean): Promise<ChangeResult> {
  const { options, target } = run;
  const label = `${ACTION_SIGN[change.action]} ${change.action} ${change.subject}`;
  if (change.action === "unhealthy") return awaitUnhealthy(run, change, wait, label);
  const sent = await run.limit(async (): Promise<ChangeResult | ApplyContext> => {
    // Checked once a slot is free: nothing new starts after an interrupt.
    if (options.signal?.aborted === true) return skip(change, INTERRUPTED);
    const context: ApplyContext = {
      system: options.system,
      revision: options.revision,
      reporter: options.reporter,
      deadline: Date.now() + options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.secrets ? { secrets: options.secrets } : {}),
      outsideLimit: (w) => run.limit.outside(w),
    };
    options.reporter.info(`${label} …`);
    try {
      await target.apply(change, context);
      return context;
    } catch (error) {
      const reason = maskSecrets(reasonOf(error));
      options.reporter.warn(`${label}: failed: ${reason}`);
      return { subject: change.subject, action: change.action, status: "failed", reason };
    }
  });
  if ("status" in sent) return sent;
  if (!wait || change.action === "delete") {
    options.reporter.debug(`${label}: applied`);
    return { subject: change.subject, action: change.action, status: "applied" };
  }
  const health = await run.watcher.wait(change, sent.deadline, label);
  if (health.healthy) {
    options.reporter.info(`${label}: healthy`);
    return { subject: change.subject, action: change.action, status: "healthy" };
  }
  const reason = maskSecrets(health.reason);
  options.reporter.warn(`${label}: unhealthy: ${reason}`);
  return { subject: change.subject, action: change.action, status: "unhealthy", reason };
}

/**
 * An object with the desired spec that is not healthy: nothing to send, so it is only waited for like
 * a changed object (without waiting, it stays unhealthy: --no-wait never reports it converged).
 */
async function awaitUnhealthy(run: Run, change: Change, wait: boolean, label: string): Promise<ChangeResult> {
  const { options } = run;
  const seen = change.actual?.health;
  const before = seen !== undefined && seen.state !== "healthy" ? maskSecrets(seen.reason) : "not healthy";
  const result = (reason: string): ChangeResult => {
    options.reporter.warn(`${label}: unhealthy: ${reason}`);
    return { subject: change.subject, action: change.action, status: "unhealthy", reason };
  };
  if (options.signal?.aborted === true) return skip(change, INTERRUPTED);
  if (!wait) return result(`${before} (not waited for: --no-wait)`);
  options.reporter.info(`${label}: waiting until it is healthy (${before}) …`);
  const health = await run.watcher.wait(change, Date.now() + options.timeoutMs, label);
  if (health.healthy) {
    options.reporter.info(`${label}: healthy`);
    return { subject: change.subject, action: change.action, status: "healthy" };
  }
  return result(maskSecrets(health.reason));
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
    const forward = change.action === "create" || change.action === "update" || change.action === "unhealthy";
    // A conflict is refused (recorded above), never sent.
    if (!forward || desired === undefined || change.conflict === true) continue;
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
