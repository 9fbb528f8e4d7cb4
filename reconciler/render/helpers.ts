// The Handlebars environment for templates: escaping off (units and YAML are not HTML), strict on, a few
// quoting helpers so templates never hand-quote values — and nothing with a side effect. Handlebars'
// built-in {{log}} writes to stdout (a template could print a forged "sysconfig: valid" line, or break
// --output json): it is removed. Every helper runs through guard(): its errors name the template's line,
// and its block bodies count against the render's budget (budget.ts).
import Handlebars from "handlebars";
import { spendChars, spendRun } from "./budget.js";

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

/** An error inside a helper, with the template line it was called from. */
export class TemplateHelperError extends Error {
  constructor(
    readonly line: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The helpers a template may call; anything else is refused as an unknown helper. */
export const HELPERS = [
  "if",
  "unless",
  "each",
  "with",
  "lookup",
  "json",
  "systemdQuote",
  "systemdArgs",
  "concat",
  "ro",
  "upper",
  "eq",
  "gt",
] as const;
// {{log}} stays registered only to refuse: Handlebars compiles it as a known helper and would fail obscurely.

type HelperOptions = Handlebars.HelperOptions & { name?: string; loc?: { start?: { line?: number } } };
type Helper = (this: unknown, ...args: unknown[]) => unknown;

/** Requires `count` arguments before the options object. */
function arity(name: string, count: number, args: unknown[]): void {
  const given = args.length - 1;
  if (given !== count) {
    throw new Error(
      `{{${name}}} takes ${count} argument${count === 1 ? "" : "s"}, got ${given}` +
        (name === "json" && given === 0 ? " (name the value to quote, e.g. {{json service.name}})" : ""),
    );
  }
}

/** lookup, strict like the rest: the key must exist on the object itself. */
function strictLookup(this: unknown, ...args: unknown[]): unknown {
  arity("lookup", 2, args);
  const [object, key] = args;
  if (typeof object !== "object" || object === null)
    throw new Error(`{{lookup}} needs a map or a list first`);
  if (typeof key !== "string" && typeof key !== "number") throw new Error(`{{lookup}} needs a key second`);
  if (!Object.hasOwn(object, key))
    throw new Error(`{{lookup}}: ${JSON.stringify(String(key).slice(0, 40))} is not defined`);
  return (object as Record<string, unknown>)[key];
}

/** A helper whose errors carry the calling line and whose block bodies are counted. */
function guard(name: string, helper: Helper): Helper {
  return function (this: unknown, ...args: unknown[]) {
    const options = args[args.length - 1] as HelperOptions | undefined;
    const line = options?.loc?.start?.line;
    if (options !== undefined && typeof options === "object") {
      for (const key of ["fn", "inverse"] as const) {
        const body = options[key] as ((...a: unknown[]) => unknown) | undefined;
        if (typeof body !== "function") continue;
        const counted = (...a: unknown[]) => {
          spendRun();
          return body(...a);
        };
        options[key] = Object.assign(counted, body) as unknown as Handlebars.TemplateDelegate;
      }
    }
    try {
      return helper.apply(this, args);
    } catch (error) {
      if (error instanceof TemplateHelperError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const said = message.startsWith("{{") ? message : `{{${name}}}: ${message}`;
      throw new TemplateHelperError(line, said, { cause: error });
    }
  };
}

export function createHandlebars(): typeof Handlebars {
  const hbs = Handlebars.create();
  // Handlebars' logger writes to the console (prototype-access warnings, the log helper): never, here.
  hbs.logger.level = Number.POSITIVE_INFINITY;
  // No side effects: log writes to the console, and a missing helper is refused rather than looked up.
  hbs.registerHelper("log", () => {
    throw new Error(
      "{{log}} is not available: templates have no side effects (it would write to sysconfig's output)",
    );
  });
  hbs.registerHelper("lookup", strictLookup);
  hbs.registerHelper("helperMissing", function (...args: unknown[]) {
    const options = args[args.length - 1] as HelperOptions;
    throw new TemplateHelperError(
      options.loc?.start?.line,
      `unknown helper '${String(options.name).slice(0, 40)}' (templates may use ${HELPERS.join(", ")})`,
    );
  });
  // JSON is valid YAML: every scalar that reaches a manifest goes through this, so quoting is never wrong.
  hbs.registerHelper("json", (...args: unknown[]) => {
    arity("json", 1, args);
    return JSON.stringify(args[0] ?? null);
  });
  hbs.registerHelper("systemdQuote", (value: unknown) => systemdQuote(String(value)));
  hbs.registerHelper("systemdArgs", (value: unknown) =>
    isStringArray(value) ? value.map(systemdQuote).join(" ") : "",
  );
  hbs.registerHelper("concat", (...args: unknown[]) => args.slice(0, -1).map(String).join(""));
  hbs.registerHelper("ro", (readOnly: unknown) => (readOnly === true ? ":ro" : ""));
  hbs.registerHelper("upper", (value: unknown) => String(value).toUpperCase());
  hbs.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  hbs.registerHelper("gt", (a: unknown, b: unknown) => Number(a) > Number(b));
  for (const [name, helper] of Object.entries(hbs.helpers)) {
    hbs.registerHelper(name, guard(name, helper as Helper));
  }
  countOutput(hbs);
  return hbs;
}

/** The helper every append to an output buffer goes through (countOutput); not one for templates to call. */
const EMIT = "__sysconfigEmit";

/**
 * Makes the compiled code count every piece of text it appends to an output buffer (budget.ts): Handlebars
 * concatenates in memory, so a bound checked on the result would come after the memory is gone.
 */
function countOutput(hbs: typeof Handlebars): void {
  hbs.registerHelper(EMIT, (value: unknown) => {
    // The same text Handlebars would append (it concatenates any value with +; a map prints [object Object]).
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    const text = value === null || value === undefined ? "" : String(value);
    spendChars(text.length);
    return text;
  });
  // Handlebars' compiler is customised by subclassing its JavaScriptCompiler (the documented extension point).
  const env = hbs as unknown as { JavaScriptCompiler: CompilerClass };
  const Base = env.JavaScriptCompiler;
  function Counting(this: unknown) {}
  Counting.prototype = Object.create(Base.prototype) as object;
  (Counting.prototype as CompilerProto).compiler = Counting;
  (Counting.prototype as CompilerProto).appendToBuffer = function (
    this: CompilerProto,
    source: unknown,
    location: unknown,
    explicit: unknown,
  ) {
    const parts = Array.isArray(source) ? (source as unknown[]) : [source];
    // Helpers get an options object last; `{}` stands in for it (Handlebars extends the last argument).
    const counted = [this.aliasable(`container.helpers.${EMIT}`), "(", ...parts, ", {})"];
    return Base.prototype.appendToBuffer.call(this, counted, location, explicit);
  };
  env.JavaScriptCompiler = Counting as unknown as CompilerClass;
}

interface CompilerProto {
  compiler: unknown;
  aliasable(name: string): unknown;
  appendToBuffer(this: CompilerProto, source: unknown, location: unknown, explicit: unknown): unknown;
}
interface CompilerClass {
  prototype: CompilerProto;
}
