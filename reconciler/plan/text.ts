// The plan and the apply report as text for people: one line per change, diffs for updates, a summary.
import { summarizeResults, type ChangeResult } from "../apply/result.js";
import { healthReason } from "../diff/diff.js";
import { hasPendingChanges, summarize, type ChangeSummary } from "../diff/summary.js";
import type { Change, ChangeSet } from "../model.js";
import { paint, type Paint } from "./colors.js";
import { escapeControls, escapeForTerminal } from "../text/escape.js";
import { maskSecrets } from "../text/mask.js";
import { changePatch, maskedChangeNote } from "./patch.js";

/** The header's warning that a working checkout's uncommitted rendered/ files are part of the plan. */
export function uncommittedLine(files: readonly string[]): string {
  const listed = files.slice(0, 10).map(escapeControls).join(", ");
  const more = files.length > 10 ? ` and ${files.length - 10} more` : "";
  return (
    `Uncommitted changes in rendered/ are included: ${listed}${more}. ` +
    `They are not reviewed or committed; commit them (or git checkout rendered/) to plan what the branch holds.`
  );
}

export function summaryLine(summary: ChangeSummary): string {
  const conflicts =
    summary.conflict > 0 ? ` (${summary.conflict} conflict${summary.conflict === 1 ? "" : "s"})` : "";
  return (
    `Plan: ${summary.create} to create, ${summary.update} to update, ${summary.delete} to delete, ` +
    `${summary.unchanged} unchanged, ${summary.unhealthy > 0 ? `${summary.unhealthy} unhealthy, ` : ""}` +
    `${summary.unmanaged} unmanaged${conflicts}.`
  );
}

function changeLine(change: Change, p: Paint): string {
  switch (change.action) {
    case "create":
      return p.green(`+ create ${change.subject}`);
    case "update":
      return change.conflict === true
        ? p.red(`! conflict ${change.subject} (update refused)`)
        : p.yellow(`~ update ${change.subject}`);
    case "delete":
      return p.red(`- delete ${change.subject}`);
    case "unmanaged":
      return change.conflict === true
        ? p.red(`! conflict ${change.subject}`)
        : p.dim(`  unmanaged ${change.subject} (not created by sysconfig; left alone)`);
    case "unchanged":
      return p.dim(`  unchanged ${change.subject}`);
    case "unhealthy": {
      const state = change.actual?.health?.state === "progressing" ? "progressing" : "unhealthy";
      const reason = healthReason(change);
      const shown = reason === undefined ? "" : `: ${escapeForTerminal(maskSecrets(reason))}`;
      return p.red(`! ${state} ${change.subject}${shown}`);
    }
  }
}

function colourPatch(patch: string, p: Paint): string {
  return patch
    .split("\n")
    .map((line) => {
      if (line.startsWith("+++") || line.startsWith("---")) return p.bold(line);
      if (line.startsWith("+")) return p.green(line);
      if (line.startsWith("-")) return p.red(line);
      if (line.startsWith("@@")) return p.dim(line);
      return line;
    })
    .join("\n");
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => (line === "" ? line : `    ${line}`))
    .join("\n");

export interface PlanTextOptions {
  color: boolean;
  /** List unchanged objects one per line too (they are always counted). */
  showUnchanged?: boolean;
}

/** The whole plan: header, a line per change with notes and diffs, then the summary line. */
export function formatPlanText(changeSet: ChangeSet, options: PlanTextOptions): string {
  const p = paint(options.color);
  const lines: string[] = [
    p.bold(
      `Plan for ${changeSet.system} (${changeSet.environment}) at ${changeSet.revision.slice(0, 12)} on ${changeSet.targetKind}:`,
    ),
  ];
  if (changeSet.uncommitted && changeSet.uncommitted.length > 0) {
    lines.push(p.yellow(uncommittedLine(changeSet.uncommitted)));
  }
  const shown = changeSet.changes.filter((c) => c.action !== "unchanged" || options.showUnchanged === true);
  if (shown.length > 0) lines.push("");
  // Instances of one template share their diff: print it once, then point back to it.
  const seen = new Map<string, string>();
  for (const change of shown) {
    lines.push(changeLine(change, p));
    for (const note of change.notes)
      lines.push(`    ${p.dim(`note: ${escapeForTerminal(maskSecrets(note))}`)}`);
    const masked = maskedChangeNote(change);
    if (masked !== undefined) lines.push(`    ${p.dim(`note: ${masked}`)}`);
    const patch = changePatch(change);
    if (patch === undefined) continue;
    const body = patch.replace(/^---.*\n\+\+\+.*\n/, "");
    const first = seen.get(body);
    if (first !== undefined) {
      lines.push(`    ${p.dim(`(same changes as ${first})`)}`);
    } else {
      seen.set(body, change.subject);
      lines.push(indent(colourPatch(patch.trimEnd(), p)));
    }
  }
  const summary = summarize(changeSet.changes);
  if (summary.unhealthy > 0) {
    lines.push(
      "",
      p.red(
        `${summary.unhealthy} object(s) have the desired spec but are not healthy: not converged. Reconcile ` +
          `waits for them and exits 1 if they stay so; no delete runs until they are healthy.`,
      ),
    );
  }
  if (!hasPendingChanges(summary)) {
    lines.push("", "No changes: the target matches the desired state.");
  }
  lines.push("", p.bold(summaryLine(summary)));
  return `${lines.join("\n")}\n`;
}

const STATUS_COLOUR = {
  applied: "green",
  healthy: "green",
  unhealthy: "red",
  failed: "red",
  skipped: "yellow",
  refused: "red",
} as const;

export function resultSummaryLine(results: readonly ChangeResult[]): string {
  const s = summarizeResults(results);
  return (
    `Result: ${s.healthy} healthy, ${s.applied} applied, ${s.unhealthy} unhealthy, ${s.failed} failed, ` +
    `${s.skipped} skipped, ${s.refused} refused.`
  );
}

/** The report after apply: one line per change with its outcome, then the result line. */
export function formatReportText(results: readonly ChangeResult[], options: { color: boolean }): string {
  const p = paint(options.color);
  if (results.length === 0) return `${p.bold("Nothing to do.")}\n`;
  const lines = results.map((r) => {
    const outcome =
      r.reason === undefined ? r.status : `${r.status}: ${escapeForTerminal(maskSecrets(r.reason))}`;
    return p[STATUS_COLOUR[r.status]](`${r.action.padEnd(9)} ${r.subject}: ${outcome}`);
  });
  return `${[...lines, "", p.bold(resultSummaryLine(results))].join("\n")}\n`;
}
