// One finished run as plain data: what /status shows, what the metrics count and what notifications say.
import { isFailure } from "../apply/result.js";
import { SafetyRefusalError, InvalidInputError, RuntimeFailureError, reasonOf } from "../errors.js";
import type { PlannedRun, ReconcileOutcome } from "../pipeline/reconcile.js";
import { planJson, type PlanJson } from "../plan/json.js";
import { maskSecrets } from "../text/mask.js";

/** success: converged; failed: a change or the target failed; refused: a safety rule (lock, prune guard);
 * invalid: the baked config is bad; interrupted: shutdown stopped it at a safe point. */
export type RunResult = "success" | "failed" | "refused" | "invalid" | "interrupted";
export const RUN_RESULTS: readonly RunResult[] = ["success", "failed", "refused", "invalid", "interrupted"];

export interface RunRecord {
  id: number;
  /** What triggered it: startup, schedule, webhook (several when triggers coalesced). */
  reasons: string[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  result: RunResult;
  /** For failed runs: whether the cause looked transient (network, 5xx) rather than permanent. */
  transient?: boolean;
  /** The plan and, after apply, every result; secrets masked. Absent when no plan was made. */
  plan?: PlanJson;
  /** The run's error, secrets masked, credentials in URLs redacted. */
  error?: string;
}

/** A run's identity and outcome without its plan: what every view of a run shows first. */
export type RunHeader = Pick<
  RunRecord,
  "id" | "reasons" | "startedAt" | "finishedAt" | "durationSeconds" | "result" | "error"
>;

export function runHeader(record: RunRecord): RunHeader {
  return {
    id: record.id,
    reasons: record.reasons,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    durationSeconds: record.durationSeconds,
    result: record.result,
    ...(record.error !== undefined ? { error: record.error } : {}),
  };
}

/** Subjects whose change did not converge, with their status ("fleet:web@1.service (unhealthy)"). */
export function failedChanges(record: RunRecord): string[] {
  return (record.plan?.result?.changes ?? []).filter(isFailure).map((r) => `${r.subject} (${r.status})`);
}

/** Objects the run created, updated or deleted (applied or healthy); one it only waited for is not counted. */
export function changedCount(record: RunRecord): number {
  return (record.plan?.result?.changes ?? []).filter((r) => r.action !== "unhealthy" && !isFailure(r)).length;
}

export interface RunStart {
  id: number;
  reasons: readonly string[];
  startedAt: Date;
}

/** Builds the record of a run from what the pipeline handed back (outcome or error). */
export function recordRun(
  start: RunStart,
  finished: Date,
  seen: { planned?: PlannedRun; outcome?: ReconcileOutcome; error?: unknown; interrupted: boolean },
  redact: (text: string) => string,
): RunRecord {
  const { planned, outcome, error } = seen;
  const base = {
    id: start.id,
    reasons: [...start.reasons],
    startedAt: start.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - start.startedAt.getTime()) / 1000,
  };
  const source = outcome ?? planned;
  const plan = source
    ? planJson(source.changeSet, {
        ...(outcome?.results ? { results: outcome.results } : {}),
        ...(error instanceof SafetyRefusalError
          ? { refused: { rule: error.rule, message: error.message } }
          : {}),
      })
    : undefined;
  const withPlan = plan ? { ...base, plan } : base;
  if (error === undefined) return { ...withPlan, result: "success" };
  const message = redact(maskSecrets(reasonOf(error)));
  if (seen.interrupted) return { ...withPlan, result: "interrupted", error: message };
  if (error instanceof SafetyRefusalError) return { ...withPlan, result: "refused", error: message };
  if (error instanceof InvalidInputError) return { ...withPlan, result: "invalid", error: message };
  const transient = error instanceof RuntimeFailureError && error.transient;
  return { ...withPlan, result: "failed", transient, error: message };
}
