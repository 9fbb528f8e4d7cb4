// The outcome of applying one change: plain data for the report and the JSON `result`.
import type { Action } from "../model.js";

/**
 * applied: done, not waited for (deletes, --no-wait); healthy / unhealthy: done and waited for;
 * failed: the target refused or errored; skipped: not attempted (roll stopped, dependency failed,
 * interrupted); refused: a conflict with an object sysconfig does not own.
 */
export type ResultStatus = "applied" | "healthy" | "unhealthy" | "failed" | "skipped" | "refused";

export interface ChangeResult {
  subject: string;
  action: Action;
  status: ResultStatus;
  /** Why it failed, was unhealthy, skipped or refused. */
  reason?: string;
}

export type ResultSummary = Record<ResultStatus, number>;

export function summarizeResults(results: readonly ChangeResult[]): ResultSummary {
  const summary: ResultSummary = { applied: 0, healthy: 0, unhealthy: 0, failed: 0, skipped: 0, refused: 0 };
  for (const result of results) summary[result.status] += 1;
  return summary;
}

export function isFailure(result: ChangeResult): boolean {
  return result.status !== "applied" && result.status !== "healthy";
}
