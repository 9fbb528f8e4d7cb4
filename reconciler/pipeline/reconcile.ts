// The reconcile pipeline, top to bottom (DESIGN §6): load desired → read actual → diff → (nothing to
// change: done, no lock) → lock → read actual again → diff → guard → plan → apply → wait → report.
// A run with nothing to change writes nothing, so it takes no lock: a no-op costs the target's reads
// alone (on fleet the lock costs a PUT, a settle pause, a GET and a DELETE). Anything to change is
// planned again under the lock, since the state may have moved between the first read and the lock.
// The target's first reads start as soon as sysconfig.yaml's head names the target, while the desired
// state is parsed and rendered. Each step lives in its own module; this file only strings them together.
import { setImmediate, setTimeout } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { applyChanges, DEFAULT_PARALLELISM } from "../apply/engine.js";
import { dependencyLevels } from "../apply/order.js";
import { summarizeFailures } from "../apply/failure-summary.js";
import { isFailure, type ChangeResult } from "../apply/result.js";
import type { TargetConfig, TargetKind } from "../config/schema.js";
import {
  readDesiredSource,
  renderDesiredState,
  type DesiredSource,
  type TargetHint,
} from "../desired/load.js";
import { openDesiredSecrets } from "../desired/secrets.js";
import { diffObjects } from "../diff/diff.js";
import { hasPendingChanges, summarize } from "../diff/summary.js";
import { checkPruneGuard, type PruneGuardOptions } from "../diff/prune-guard.js";
import { reasonOf, RuntimeFailureError, type SafetyRefusalError } from "../errors.js";
import type { ChangeSet, DesiredObject, DesiredState } from "../model.js";
import type { Reporter } from "../report/reporter.js";
import { DEFAULT_LOCK_TIMEOUT_SECONDS, type LockWait } from "../targets/lock-wait.js";
import type { Target, TargetOptions } from "../targets/target.js";

export interface ReconcileRequest {
  /** Config repo checkout or baked config directory. */
  repo: string;
  environment?: string;
  targetKind?: TargetKind;
  endpoint?: string;
  /** Plan only: no lock, nothing applied. */
  planOnly: boolean;
  guard: PruneGuardOptions;
  wait: boolean;
  timeoutSeconds: number;
  waitLock: boolean;
  /** With waitLock: how long to wait for another reconciler's lock before giving up (exit 4). */
  lockTimeoutSeconds?: number;
  parallelism?: number;
  /** Bound on one request to the target, and on each SSH hop's handshake (the target's default when unset). */
  requestTimeoutMs?: number;
  /** Who holds the lock, e.g. "host pid 123". */
  lockOwner: string;
  /** age identity that decrypts the environment's secrets (default SYSCONFIG_IDENTITY_FILE); plan needs none. */
  identityFile?: string;
  /** Where targetKind and endpoint came from ("--endpoint" or "SYSCONFIG_ENDPOINT", …), named in errors. */
  targetSource?: string;
  endpointSource?: string;
}

export interface PlannedRun {
  desired: DesiredState;
  changeSet: ChangeSet;
  /** Set when the prune guard refuses this plan; it is then thrown after onPlan. */
  refusal?: SafetyRefusalError;
}

export interface ReconcileOutcome extends PlannedRun {
  /** Per change, after apply (absent for plan only). */
  results?: ChangeResult[];
}

export interface ReconcileDeps {
  /** The one construction point of targets (reconciler/targets/create.ts), or a fake in tests. */
  createTarget(config: TargetConfig, options: TargetOptions): Promise<Target>;
  reporter: Reporter;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: apply starts nothing new, the lock is released. */
  signal?: AbortSignal;
  /** Called once the plan is known, before anything is applied (also when it is refused). */
  onPlan?(plan: PlannedRun): void;
  /** Called after apply with every result, before a failure is thrown. */
  onResult?(outcome: ReconcileOutcome): void;
  /** Called with each change's result as apply learns it (serve's live page). */
  onChangeResult?: (result: ChangeResult) => void;
}

/**
 * Runs plan or reconcile. Throws InvalidInputError (3) for bad input, SafetyRefusalError (4) for the
 * prune guard or a held lock, RuntimeFailureError (1) when any change failed, was unhealthy, skipped
 * or refused (every one named); returns the outcome when the target converged.
 */
export async function runReconcile(
  request: ReconcileRequest,
  deps: ReconcileDeps,
): Promise<ReconcileOutcome> {
  const startTarget = (config: TargetConfig, environment: string, system: string): Promise<Target> => {
    const ready = deps.createTarget(config, {
      endpoint: request.endpoint,
      ...(request.endpointSource !== undefined ? { endpointSource: request.endpointSource } : {}),
      environment,
      reporter: deps.reporter,
      env: deps.env,
      ...(request.requestTimeoutMs !== undefined ? { requestTimeoutMs: request.requestTimeoutMs } : {}),
    });
    ready.then((t) => t.prefetchActual?.(system)).catch(() => undefined);
    return ready;
  };
  // The target needs only its config: it is created, and its reads start, as soon as the head of
  // sysconfig.yaml names it (config/head.ts), while the services are parsed, rendered and checked, so a
  // no-op costs max(local work, reads), not their sum. A config or render error still ends the run
  // (exit 3) before anything is written, and the reads are abandoned.
  let early: { hint: TargetHint; ready: Promise<Target> } | undefined;
  let source: DesiredSource;
  try {
    source = await readDesiredSource(request.repo, {
      environment: request.environment,
      targetKind: request.targetKind,
      endpoint: request.endpoint,
      reporter: deps.reporter,
      ...(request.targetSource !== undefined ? { targetSource: request.targetSource } : {}),
      ...(request.endpointSource !== undefined ? { endpointSource: request.endpointSource } : {}),
      onHint: async (hint) => {
        early = { hint, ready: startTarget(hint.target, hint.environment, hint.name) };
        await setTimeout(1); // a turn of the event loop: the first request is on its way before the parse
      },
    });
  } catch (error) {
    await closeQuietly(early?.ready);
    throw error;
  }
  let targetReady: Promise<Target>;
  if (early && sameTarget(early.hint, source)) {
    targetReady = early.ready;
  } else {
    await closeQuietly(early?.ready);
    targetReady = startTarget(source.target, source.environment, source.config.name);
  }
  let desired: DesiredState;
  let levels: ReturnType<typeof dependencyLevels>;
  let secrets: Awaited<ReturnType<typeof openDesiredSecrets>> | undefined;
  try {
    desired = await renderDesiredState(source);
    levels = dependencyLevels(desired.services);
    // Decrypted before the target is used: a missing or wrong identity is exit 3 with nothing applied.
    secrets = request.planOnly
      ? undefined
      : await openDesiredSecrets(desired, request.identityFile ?? deps.env.SYSCONFIG_IDENTITY_FILE);
  } catch (error) {
    await closeQuietly(targetReady);
    throw error;
  }
  const target = await targetReady;
  try {
    await target.prepare?.(desired);
    await setImmediate(); // pages of a prefetch that came in during the render are followed up first
    const objects = target.desiredObjects(desired);
    if (request.planOnly) return await plan(desired, objects, target, request, deps);
    const unlocked = await readPlan(desired, objects, target, request);
    if (!unlocked.refusal && !hasPendingChanges(summarize(unlocked.changeSet.changes))) {
      deps.onPlan?.(unlocked);
      const outcome: ReconcileOutcome = { ...unlocked, results: [] };
      deps.onResult?.(outcome);
      return outcome;
    }
    const wait: LockWait = request.waitLock
      ? {
          timeoutMs: (request.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS) * 1000,
          ...(deps.signal ? { signal: deps.signal } : {}),
        }
      : false;
    const lock = await target.acquireLock(desired.system, request.lockOwner, wait);
    try {
      const planned = await plan(desired, objects, target, request, deps);
      const results = await applyChanges(target, planned.changeSet.changes, {
        system: desired.system,
        revision: desired.revision,
        reporter: deps.reporter,
        ...(secrets ? { secrets } : {}),
        levels,
        parallelism: request.parallelism ?? DEFAULT_PARALLELISM,
        wait: request.wait,
        timeoutMs: request.timeoutSeconds * 1000,
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(deps.onChangeResult ? { onResult: deps.onChangeResult } : {}),
      });
      const outcome: ReconcileOutcome = { ...planned, results };
      deps.onResult?.(outcome);
      const failure = failureOf(outcome);
      if (failure) throw failure;
      return outcome;
    } finally {
      await lock.release().catch((error: unknown) => {
        deps.reporter.warn(`${desired.system} lock release failed: ${reasonOf(error)}`);
      });
    }
  } finally {
    await target.close().catch((error: unknown) => {
      deps.reporter.warn(`${target.kind} target close failed: ${reasonOf(error)}`);
    });
  }
}

/** Closes a target that was started but is not used (a config error, or a hint the config contradicts). */
async function closeQuietly(ready: Promise<Target> | undefined): Promise<void> {
  await ready?.then(
    (t) => t.close().catch(() => undefined),
    () => undefined,
  );
}

/** Whether the full config names the target the head of sysconfig.yaml named (it always should). */
function sameTarget(hint: TargetHint, source: DesiredSource): boolean {
  return (
    hint.name === source.config.name &&
    hint.environment === source.environment &&
    isDeepStrictEqual(hint.target, source.target)
  );
}

/** Reads actual state, diffs, checks the prune guard and hands the plan to onPlan. */
async function plan(
  desired: DesiredState,
  desiredObjects: DesiredObject[],
  target: Target,
  request: ReconcileRequest,
  deps: ReconcileDeps,
): Promise<PlannedRun> {
  const planned = await readPlan(desired, desiredObjects, target, request);
  deps.onPlan?.(planned);
  if (planned.refusal) throw planned.refusal;
  return planned;
}

/** Reads actual state and diffs it against the desired state, with the prune guard's verdict. */
async function readPlan(
  desired: DesiredState,
  desiredObjects: DesiredObject[],
  target: Target,
  request: ReconcileRequest,
): Promise<PlannedRun> {
  const actual = await target.readActual(desired.system, request.planOnly ? "plan" : "apply");
  const changeSet: ChangeSet = {
    system: desired.system,
    environment: desired.environment,
    revision: desired.revision,
    targetKind: target.kind,
    changes: diffObjects(desiredObjects, actual),
    ...(desired.uncommitted && desired.uncommitted.length > 0 ? { uncommitted: desired.uncommitted } : {}),
  };
  const refusal = checkPruneGuard(changeSet.changes, desiredObjects.length, request.guard);
  return refusal ? { desired, changeSet, refusal } : { desired, changeSet };
}

/**
 * The exit-1 error for the changes that did not converge (the first few named with their reason, the rest
 * counted by reason: apply/failure-summary.ts), or undefined when all did.
 */
export function failureOf(outcome: ReconcileOutcome): RuntimeFailureError | undefined {
  const failed = (outcome.results ?? []).filter(isFailure);
  if (failed.length === 0) return undefined;
  const { system, environment } = outcome.changeSet;
  return new RuntimeFailureError(
    `reconcile of ${system} (${environment}) failed: ${failed.length} of ${outcome.results?.length ?? 0} change(s) did not converge: ` +
      `${summarizeFailures(failed)}. Every change with its reason is in the report and in --output json. ` +
      `Fix the cause and run reconcile again; it picks up from the actual state.`,
  );
}
