// The page's "Runs" section: the run in progress, then the last runs newest first, each a <details>
// that opens to its changes (coloured diff, result, reason) and its error; a sparkline above.
import { ACTION_SIGN } from "../../model.js";
import { diffLines } from "./diff-lines.js";
import { seconds, timeTag } from "./format.js";
import { html, type SafeHtml } from "./html.js";
import { DETAILED_RUNS, type RunChangeView, type RunView } from "./run-history.js";
import { sparkline } from "./sparkline.js";
import type { LiveRun } from "./ui-state.js";

export function changeItem(change: RunChangeView): SafeHtml {
  const result = change.result;
  return html`<li class="change" data-subject="${change.subject}">
    <div class="change-head">
      <span class="action ${change.action}">${ACTION_SIGN[change.action]} ${change.action}</span>
      <code>${change.subject}</code>
      <span class="result ${result?.status ?? "pending"}">${result?.status ?? "pending"}</span>
    </div>
    ${result?.reason ? html`<p class="reason">${result.reason}</p>` : ""}
    ${change.notes.map((n) => html`<p class="note">${n}</p>`)}
    ${change.diff !== undefined ? diffLines(change.diff) : ""}
    ${change.diffDropped ? html`<p class="note">diff not kept: this run's diffs exceed the page's limit (see serve's log or run sysconfig plan)</p>` : ""}
  </li>`;
}

function counts(run: RunView): string {
  const s = run.summary;
  if (s === undefined) return "no plan";
  return `+${s.create} ~${s.update} -${s.delete} =${s.unchanged}${s.unmanaged > 0 ? ` !${s.unmanaged}` : ""}`;
}

function changesOf(run: RunView): SafeHtml {
  if (run.detailsDropped) {
    return html`<p class="empty">
      Changes are kept for the last ${DETAILED_RUNS} runs only; the counts above remain.
    </p>`;
  }
  if (run.changes.length === 0) return html`<p class="empty">Nothing to change.</p>`;
  return html`<ul class="changes">
      ${run.changes.map(changeItem)}
    </ul>
    ${run.changesNotKept ? html`<p class="note">and ${run.changesNotKept} more change(s), not kept (serve's log lists them)</p>` : ""}`;
}

function runItem(run: RunView): SafeHtml {
  return html`<details class="run" id="run-${run.id}" data-run="${run.id}">
    <summary>
      <span class="run-id">#${run.id}</span> <span class="result ${run.result}">${run.result}</span>
      <span class="trigger">${run.reasons.join(", ")}</span> ${timeTag(run.startedAt)}
      <span class="duration">${seconds(run.durationSeconds)}</span> <span class="counts">${counts(run)}</span>
    </summary>
    ${run.error !== undefined ? html`<pre class="error">${run.error}</pre>` : ""} ${changesOf(run)}
  </details>`;
}

export function liveSection(live: LiveRun | undefined): SafeHtml {
  if (live === undefined) return html`<section id="live" hidden></section>`;
  return html`<section id="live" data-run="${live.id}" aria-live="polite">
    <h2>
      Run #${live.id} in progress <small>${live.reasons.join(", ")}, since ${timeTag(live.startedAt)}</small>
    </h2>
    ${
      live.changes === undefined
        ? html`<p class="empty">Reading the target…</p>`
        : html`<ul class="changes">
            ${live.changes.map(changeItem)}
          </ul>`
    }
  </section>`;
}

export function runsSection(runs: readonly RunView[]): SafeHtml {
  return html`<section id="runs" aria-labelledby="runs-title">
    <h2 id="runs-title">Runs <small>last ${runs.length}, newest first</small></h2>
    ${sparkline(runs)}
    ${runs.length === 0 ? html`<p class="empty">No run has finished yet.</p>` : runs.map(runItem)}
  </section>`;
}
