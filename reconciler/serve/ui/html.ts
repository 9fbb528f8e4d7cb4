// HTML built by a tagged template that escapes every interpolated value: strings from the config, the
// target or git can only ever become text. Only values already built by `html` pass through as markup.
const SAFE = Symbol("safe html");

export interface SafeHtml {
  readonly [SAFE]: true;
  readonly text: string;
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Text safe inside an element or a quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

function isSafe(value: unknown): value is SafeHtml {
  return typeof value === "object" && value !== null && SAFE in value;
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join("");
  if (isSafe(value)) return value.text;
  if (typeof value === "object") return ""; // unreachable: arrays and SafeHtml are handled above
  return escapeHtml(String(value));
}

/** html`<td>${name}</td>`: `name` is escaped unless it is itself SafeHtml (or a list of them). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let text = strings[0] ?? "";
  values.forEach((value, i) => {
    text += render(value) + (strings[i + 1] ?? "");
  });
  return { [SAFE]: true, text };
}

/** Markup this module's own callers built from SafeHtml pieces (never text from outside). */
export function trusted(markup: string): SafeHtml {
  return { [SAFE]: true, text: markup };
}
