// GET /: the whole page, rendered on the server from UiState, complete without its script (which only
// adds the filter box, local times and live updates). Every value passes through html`` escaping.
import type { HealthState } from "../health.js";
import { shortHash, timeTag } from "./format.js";
import { html, type SafeHtml } from "./html.js";
import { objectsSection } from "./objects-section.js";
import { liveSection, runsSection } from "./runs-section.js";
import type { UiState } from "./ui-state.js";

export interface PageSource {
  version: string;
  state: UiState;
  health: HealthState;
  nextScheduledRun(): Date | null;
}

type Badge = "healthy" | "degraded" | "unhealthy" | "starting";

/** unhealthy: /healthz says so; degraded: an object is not healthy or the last run did not succeed. */
export function overallHealth(source: PageSource): { badge: Badge; detail: string } {
  const { health, state } = source;
  if (health.lastRun === undefined) return { badge: "starting", detail: "no run finished yet" };
  if (!health.healthy) return { badge: "unhealthy", detail: health.summary };
  const bad = state.objects.filter((o) => o.state === "unhealthy" || o.state === "progressing").length;
  if (bad > 0) return { badge: "degraded", detail: `${bad} object(s) not healthy` };
  if (health.lastRun.result !== "success") return { badge: "degraded", detail: health.summary };
  return { badge: "healthy", detail: health.summary };
}

function header(source: PageSource): SafeHtml {
  const facts = source.state.header;
  const { badge, detail } = overallHealth(source);
  const next = source.nextScheduledRun();
  const rev = facts?.revision;
  return html`<header id="header">
    <h1>
      <span class="system">${facts?.system ?? "sysconfig serve"}</span>
      ${facts ? html`<span class="env">${facts.environment}</span>` : ""}
      <span class="badge ${badge}" title="${detail}">${badge}</span>
    </h1>
    <dl class="facts">
      ${
        rev
          ? html`<div>
              <dt>revision</dt>
              <dd>
                <code title="${rev.revision}">${shortHash(rev.revision)}</code
                >${rev.subject ? html` <span class="subject">${rev.subject}</span>` : ""}${rev.time ? html` · ${timeTag(rev.time)}` : ""}
              </dd>
            </div>`
          : ""
      }
      ${
        facts
          ? html`<div>
              <dt>target</dt>
              <dd>${facts.targetKind} <code>${facts.endpoint ?? "(default endpoint)"}</code></dd>
            </div>`
          : ""
      }
      <div>
        <dt>health</dt>
        <dd class="detail">${detail}</dd>
      </div>
      <div>
        <dt>next scheduled run</dt>
        <dd>${next ? timeTag(next.toISOString()) : "none"}</dd>
      </div>
    </dl>
  </header>`;
}

export function renderPage(source: PageSource): string {
  const title = source.state.header
    ? `${source.state.header.system} (${source.state.header.environment})`
    : "sysconfig serve";
  return `<!doctype html>\n${
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>${title} · sysconfig</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/ui/app.css" />
        <script src="/ui/app.js" defer></script>
      </head>
      <body>
        ${header(source)}
        <main>
          ${liveSection(source.state.live)} ${objectsSection(source.state.objects, source.state.objectsRun)}
          ${runsSection(source.state.history.list())}
        </main>
        <footer>
          sysconfig ${source.version} · read-only: runs start on the schedule or the signed webhook ·
          <a href="/status">/status</a> · <a href="/metrics">/metrics</a>
        </footer>
      </body>
    </html>`.text
  }\n`;
}

/**
 * renderPage, reused while nothing it shows has changed: when a run finishes, every open page fetches /
 * at once, and at 1,000 objects each render is a string of over a megabyte (20 pages: 20 renders and
 * ~30 MB of garbage at once without this). The page is kept encoded: 20 responses share one buffer.
 */
export function pageRenderer(source: PageSource): () => Buffer {
  let key: string | undefined;
  let body = Buffer.alloc(0);
  return () => {
    const { state, health } = source;
    const next = source.nextScheduledRun()?.getTime() ?? "";
    const now = `${state.version}\n${health.healthy}\n${health.summary}\n${next}`;
    if (now !== key) {
      body = Buffer.from(renderPage(source), "utf8"); // encoded once, sent as it is to every page
      key = now;
    }
    return body;
  };
}
