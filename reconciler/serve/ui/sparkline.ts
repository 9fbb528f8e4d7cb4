// A small SVG of the last runs' durations (bar height) and results (colour, by class), oldest left.
// Attributes only, no style: the page's CSP allows no inline style.
import { html, type SafeHtml } from "./html.js";
import type { RunView } from "./run-history.js";

const WIDTH = 200;
const HEIGHT = 32;

export function sparkline(runs: readonly RunView[]): SafeHtml {
  if (runs.length === 0) return html``;
  const oldestFirst = [...runs].reverse();
  const longest = Math.max(...oldestFirst.map((r) => r.durationSeconds), 0.001);
  const step = WIDTH / Math.max(oldestFirst.length, 20);
  const bars = oldestFirst.map((run, i) => {
    const h = Math.max(2, Math.round((run.durationSeconds / longest) * (HEIGHT - 2)));
    return html`<rect
      class="bar ${run.result}"
      x="${(i * step).toFixed(1)}"
      y="${HEIGHT - h}"
      width="${Math.max(1, step - 1).toFixed(1)}"
      height="${h}"
      ><title>#${run.id} ${run.result}, ${run.durationSeconds.toFixed(1)} s</title></rect
    >`;
  });
  return html`<svg
    class="sparkline"
    role="img"
    aria-label="durations and results of the last ${runs.length} runs"
    viewBox="0 0 ${WIDTH} ${HEIGHT}"
    width="${WIDTH}"
    height="${HEIGHT}"
  >
    ${bars}
  </svg>`;
}
