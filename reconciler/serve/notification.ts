// The chat message for a run that changed something or failed: system, environment, revision, counts
// and the names of what failed. Built only from masked plan data: never a secret value, never a diff.
import { changedCount, failedChanges, type RunRecord } from "./run-record.js";

/** Slack's incoming-webhook body (Mattermost, Rocket.Chat and Teams' Slack-compatible hooks take it too). */
export interface ChatMessage {
  text: string;
}

/** The message for `record`, or undefined when the run changed nothing and succeeded (no noise). */
export function notificationFor(record: RunRecord, fallback: { system?: string }): ChatMessage | undefined {
  const changed = changedCount(record);
  if (record.result === "success" && changed === 0) return undefined;
  if (record.result === "interrupted" && changed === 0) return undefined;
  const plan = record.plan;
  const where = plan
    ? `${plan.system} (${plan.environment}) at ${plan.revision.slice(0, 12)}`
    : (fallback.system ?? "sysconfig");
  const icon = record.result === "success" ? ":white_check_mark:" : ":x:";
  const verdict =
    record.result === "success"
      ? "reconciled"
      : record.result === "interrupted"
        ? "interrupted"
        : `${record.result}`;
  const lines = [`${icon} ${where}: run #${record.id} ${verdict} in ${record.durationSeconds.toFixed(1)} s`];
  if (plan) {
    const s = plan.summary;
    lines.push(
      `plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.unchanged} unchanged`,
    );
    if (plan.result) {
      const r = plan.result.summary;
      lines.push(
        `changed: ${changed} (${r.healthy} healthy, ${r.applied} applied); not converged: ${r.unhealthy + r.failed + r.skipped + r.refused}`,
      );
    }
  }
  const failed = failedChanges(record);
  if (failed.length > 0) {
    const shown = failed.slice(0, 20);
    lines.push(
      `failed: ${shown.join(", ")}${failed.length > shown.length ? ` and ${failed.length - shown.length} more` : ""}`,
    );
  } else if (record.result !== "success" && record.error !== undefined) {
    // Only the first sentence: the rest is how-to-fix advice for the log, and the log has it.
    lines.push(`error: ${firstSentence(record.error)}`);
  }
  return { text: lines.join("\n") };
}

function firstSentence(text: string): string {
  const cut = text.search(/\.\s/);
  const sentence = cut > 0 ? text.slice(0, cut + 1) : text;
  return sentence.length > 300 ? `${sentence.slice(0, 299)}…` : sentence;
}
