// The Handlebars environment for templates: escaping off (units and YAML are not HTML), strict on,
// and a few quoting helpers so templates never hand-quote values.
import Handlebars from "handlebars";

/** Quotes one argument for a systemd Exec*= or Environment= line; `$` and `%` are escaped too. */
export function systemdQuote(value: string): string {
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\$/g, "$$$$")
    .replace(/%/g, "%%");
  return /^[A-Za-z0-9_@.,:/=+-]+$/.test(value) ? escaped : `"${escaped}"`;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

export function createHandlebars(): typeof Handlebars {
  const hbs = Handlebars.create();
  // JSON is valid YAML: every scalar that reaches a manifest goes through this, so quoting is never wrong.
  hbs.registerHelper("json", (value: unknown) => JSON.stringify(value ?? null));
  hbs.registerHelper("systemdQuote", (value: unknown) => systemdQuote(String(value)));
  hbs.registerHelper("systemdArgs", (value: unknown) =>
    isStringArray(value) ? value.map(systemdQuote).join(" ") : "",
  );
  hbs.registerHelper("concat", (...args: unknown[]) => args.slice(0, -1).map(String).join(""));
  hbs.registerHelper("ro", (readOnly: unknown) => (readOnly === true ? ":ro" : ""));
  hbs.registerHelper("upper", (value: unknown) => String(value).toUpperCase());
  hbs.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  hbs.registerHelper("gt", (a: unknown, b: unknown) => Number(a) > Number(b));
  return hbs;
}
