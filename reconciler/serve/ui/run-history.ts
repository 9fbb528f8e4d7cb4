// The runs the page lists: the last RUNS_KEPT, newest first. The newest DETAILED_RUNS keep their
// changes (at most CHANGES_PER_RUN), diffs (at most DIFF_BYTES_PER_RUN) and results; older ones keep
// their summary line only. So memory and the page stay a few MB however large the runs, and the page
// says what it left out.
import type { ChangeResult } from "../../apply/result.js";
import type { ChangeSummary } from "../../diff/summary.js";
import type { Action, Change } from "../../model.js";
import { maskSecrets } from "../../text/mask.js";
import { runHeader, type RunHeader, type RunRecord } from "../run-record.js";
import { changeDiff } from "./change-diff.js";

export const RUNS_KEPT = 50;
export const DETAILED_RUNS = 10;
export const CHANGES_PER_RUN = 300;
export const DIFF_BYTES_PER_RUN = 128 * 1024;

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

export interface RunView extends RunHeader {
  summary?: ChangeSummary;
  changes: RunChangeView[];
  /** Changes beyond CHANGES_PER_RUN, not kept. */
  changesNotKept?: number;
  /** An older run: its changes were let go (only the newest DETAILED_RUNS keep them). */
  detailsDropped?: true;
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
  // The record's plan has every update's diff already: only creates and deletes are diffed here.
  const planned = new Map((record.plan?.changes ?? []).map((c) => [c.subject, c.diff]));
  let budget = DIFF_BYTES_PER_RUN;
  const listed = listedChanges(changes ?? []);
  const views = listed.slice(0, CHANGES_PER_RUN).map((change): RunChangeView => {
    const diff =
      budget <= 0 ? undefined : change.action === "update" ? planned.get(change.subject) : changeDiff(change);
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
    if (diff === undefined)
      return budget <= 0 && change.action !== "unmanaged" ? { ...view, diffDropped: true } : view;
    if (diff.length > budget) return { ...view, diffDropped: true };
    budget -= diff.length;
    return { ...view, diff };
  });
  return {
    ...runHeader(record),
    ...(record.plan ? { summary: record.plan.summary } : {}),
    changes: views,
    ...(listed.length > CHANGES_PER_RUN ? { changesNotKept: listed.length - CHANGES_PER_RUN } : {}),
  };
}

export class RunHistory {
  private readonly runs: RunView[] = [];

  constructor(private readonly kept = RUNS_KEPT) {}

  add(run: RunView): void {
    this.runs.unshift(run);
    if (this.runs.length > this.kept) this.runs.length = this.kept;
    const older = this.runs[DETAILED_RUNS];
    if (older !== undefined && older.detailsDropped !== true) {
      this.runs[DETAILED_RUNS] = { ...older, changes: [], detailsDropped: true };
    }
  }

  /** Newest first. */
  list(): readonly RunView[] {
    return this.runs;
  }
}
