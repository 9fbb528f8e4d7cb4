// Templates compiled when sysconfig is built: Handlebars takes ~50 ms to parse and compile the built-in
// fleet template in a fresh process (0.2 ms per {{…}} once warm; every CLI run is a fresh process), and
// well under a millisecond to load the compiled form. `npm run build` (scripts/bundle.ts) writes the
// built-in and example templates' compiled forms beside the CLI's bundle, keyed by their whole text (no
// hash: node:crypto costs more to load than the ~20 KB of text), so a service's template is used compiled
// only when its text is exactly one of them. Code run from anywhere else (tests on the TypeScript,
// dist/reconciler) finds no file and compiles, as before.
import { readFileSync } from "node:fs";

export const PRECOMPILED_FILE = "templates.json";

/** What every template is compiled with (render.ts), at build time too. */
export const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

let specs: ReadonlyMap<string, string> | undefined;

/** The compiled template for exactly `source`, when the build compiled it. */
export function precompiledSpec(source: string): TemplateSpecification | undefined {
  specs ??= readSpecs();
  const code = specs.size === 0 ? undefined : specs.get(source);
  if (code === undefined) return undefined;
  // The build's own output, as trusted as this code: Handlebars' compile evaluates its output the same way.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const evaluate = new Function(`return ${code}`) as () => TemplateSpecification;
  return evaluate();
}

function readSpecs(): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = readFileSync(new URL(`./${PRECOMPILED_FILE}`, import.meta.url), "utf8");
  } catch {
    return new Map(); // not running from the bundle: templates are compiled when first used
  }
  return new Map(Object.entries(JSON.parse(text) as Record<string, string>));
}
