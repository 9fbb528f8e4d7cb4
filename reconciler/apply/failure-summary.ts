// The one-paragraph summary of the changes that did not converge, for the exit-1 error: the first few by
// name with their reason, then "and N more" with their distinct reasons counted. 500 failures make a
// message of a few lines, not 150 KB on one line; every change with its full reason stays in the report
// (one line each) and in --output json (and serve's /status).
import { maskSecrets } from "../text/mask.js";
import { isFailure, type ChangeResult } from "./result.js";

/** Changes named one by one with their reason. */
export const NAMED_FAILURES = 5;
/** Distinct reasons counted for the rest. */
export const COUNTED_REASONS = 5;
/** Longest reason quoted for a change named one by one (long enough to keep the reason's fix), and for a counted one. */
const NAMED_REASON_CHARS = 1000;
const COUNTED_REASON_CHARS = 240;

/** "a (failed: …); b (unhealthy: …); and 495 more: 490 failed: HTTP 500 …, 5 skipped: …". */
export function summarizeFailures(results: readonly ChangeResult[]): string {
  const failed = results.filter(isFailure);
  const named = failed
    .slice(0, NAMED_FAILURES)
    .map(
      (r) =>
        `${r.subject} (${r.status}${r.reason === undefined ? "" : `: ${clip(maskSecrets(r.reason), NAMED_REASON_CHARS)}`})`,
    );
  const rest = failed.slice(NAMED_FAILURES);
  if (rest.length === 0) return named.join("; ");
  const counts = new Map<string, number>();
  for (const r of rest) {
    const key = `${r.status}${r.reason === undefined ? "" : `: ${clip(generic(maskSecrets(r.reason), r.subject), COUNTED_REASON_CHARS)}`}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  const shown = ranked.slice(0, COUNTED_REASONS).map(([reason, n]) => `${n} × ${reason}`);
  const others = ranked.slice(COUNTED_REASONS).reduce((sum, [, n]) => sum + n, 0);
  if (others > 0) {
    shown.push(`${others} with ${ranked.length - COUNTED_REASONS} other reason(s)`);
  }
  return `${named.join("; ")}; and ${rest.length} more (${shown.join("; ")})`;
}

/** A reason with its own object's name taken out, so that "web@7 … failed: X" and "web@8 … failed: X" count as one. */
function generic(reason: string, subject: string): string {
  const name = subject.slice(subject.indexOf(":") + 1);
  let text = reason.split(subject).join("<object>");
  if (name.length > 0) text = text.split(name).join("<object>");
  return text;
}

function clip(text: string, chars: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > chars ? `${line.slice(0, chars - 1)}…` : line;
}
