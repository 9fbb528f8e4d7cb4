// A unified diff as HTML lines, each classed by its kind (added, removed, hunk header, file header) so
// the stylesheet colours it; every line's text is escaped.
import { html, trusted, type SafeHtml } from "./html.js";

function classOf(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("Index:")) return "meta";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  return "ctx";
}

export function diffLines(diff: string): SafeHtml {
  const lines = diff.replace(/\n$/, "").split("\n");
  // Joined by hand: a <pre> keeps every character, so no formatter may touch the whitespace here.
  const body = lines.map((line) => html`<span class="${classOf(line)}">${line}</span>`.text).join("\n");
  return html`<pre class="diff">${trusted(body)}</pre>`;
}
