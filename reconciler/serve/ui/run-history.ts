// The runs the page lists: the last RUNS_KEPT, newest first, each with its changes, their diffs and
// results. Bounded twice: in runs, and in diff bytes per run (a run of 1,000 creates keeps the first
// DIFF_BYTES_PER_RUN of diffs and says so), so 50 large runs stay a few MB.
import type { ChangeResult } from "../../apply/result.js";
import type { ChangeSummary } from "../../diff/summary.js";
import type { Action, Change } from "../../model.js";
import { maskSecrets } from "../../text/mask.js";
import type { RunRecord, RunResult } from "../run-record.js";
import { changeDiff } from "./change-diff.js";

export const RUNS_KEPT = 50;
export const DIFF_BYTES_PER_RUN = 256 * 1024;

export interface RunChangeView {
  action: Action;
  subject: string;
  service: string;
  notes: string[];
  diff?: string;
  /** The diff was left out to keep the run's diffs under DIFF_BYTES_PER_RUN. */
  diffDropped?: true;
  result?: Pick<ChangeResult, "status" | "reason">;
}

export interface RunView {
  id: number;
  reasons: string[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  result: RunResult;
  error?: string;
  summary?: ChangeSummary;
  changes: RunChangeView[];
}

/** Changes worth listing in a run: what apply acts on, and conflicts. */
export function listedChanges(changes: readonly Change[]): Change[] {
  return changes.filter(
    (c) => c.action === "create" || c.action === "update" || c.action === "delete" || c.conflict === true,
  );
}

/** A finished run for the page, from its record and (when a plan was made) the planned changes. */
export function runView(record: RunRecord, changes: readonly Change[] | undefined): RunView {
  const results = new Map((record.plan?.result?.changes ?? []).map((r) => [r.subject, r]));
  let budget = DIFF_BYTES_PER_RUN;
  const views = listedChanges(changes ?? []).map((change): RunChangeView => {
    const diff = changeDiff(change);
    const result = results.get(change.subject);
    const view: RunChangeView = {
      action: change.action,
      subject: change.subject,
      service: change.desired?.service ?? change.actual?.service ?? "",
      notes: change.notes.map(maskSecrets),
      ...(result
        ? { result: { status: result.status, ...(result.reason ? { reason: result.reason } : {}) } }
        : {}),
    };
    if (diff === undefined) return view;
    if (diff.length > budget) return { ...view, diffDropped: true };
    budget -= diff.length;
    return { ...view, diff };
  });
  return {
    id: record.id,
    reasons: record.reasons,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    durationSeconds: record.durationSeconds,
    result: record.result,
    ...(record.error !== undefined ? { error: record.error } : {}),
    ...(record.plan ? { summary: record.plan.summary } : {}),
    changes: views,
  };
}

export class RunHistory {
  private readonly runs: RunView[] = [];

  constructor(private readonly kept = RUNS_KEPT) {}

  add(run: RunView): void {
    this.runs.unshift(run);
    if (this.runs.length > this.kept) this.runs.length = this.kept;
  }

  /** Newest first. */
  list(): readonly RunView[] {
    return this.runs;
  }
}
