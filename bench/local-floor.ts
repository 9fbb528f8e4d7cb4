// The floor under `sysconfig validate`: fresh Node processes that do only the first steps of it with the
// libraries DESIGN.md requires, each bundled by esbuild as the CLI is (scripts/bundle.ts), so the figures
// are what those steps cost in any fresh process on this machine, whoever writes the code around them.
// bench/local.ts prints them under the CLI's own figures.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Each floor program: what it does, and its source (run with the config repo as its one argument). */
const PROGRAMS: [label: string, source: string][] = [
  ["node, nothing loaded", ``],
  [
    "+ js-yaml reads sysconfig.yaml",
    `import { load } from "js-yaml";
import { readFileSync } from "node:fs";
load(readFileSync(process.argv[2] + "/sysconfig.yaml", "utf8"));`,
  ],
  [
    "+ zod checks it against sysconfig's schema",
    `import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import { configSchema } from "${dist}/reconciler/config/schema.js";
if (!configSchema.safeParse(load(readFileSync(process.argv[2] + "/sysconfig.yaml", "utf8"))).success) process.exit(3);`,
  ],
  [
    "+ Handlebars renders every service",
    `import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import { configSchema } from "${dist}/reconciler/config/schema.js";
import { renderAll } from "${dist}/reconciler/render/render.js";
const parsed = configSchema.safeParse(load(readFileSync(process.argv[2] + "/sysconfig.yaml", "utf8")));
if (!parsed.success) process.exit(3);
await renderAll(process.argv[2], parsed.data, Object.keys(parsed.data.environments)[0]);`,
  ],
];

/**
 * Bundles the floor programs into dist/bench/floor/ (inside the project, where the render finds the
 * built-in templates as the CLI's bundle does); returns [label, program] pairs. Like the CLI, each turns
 * on the compile cache first and finds the templates compiled at build beside it.
 */
export async function floorPrograms(): Promise<[string, string][]> {
  const at = path.join(dist, "bench/floor");
  await mkdir(at, { recursive: true });
  await copyFile(path.join(dist, "cli/bundle/templates.json"), path.join(at, "templates.json"));
  const programs: [string, string][] = [];
  for (const [i, [label, source]] of PROGRAMS.entries()) {
    const out = path.join(at, `floor${i}.mjs`);
    await build({
      // Packages resolved from the project, as the CLI's bundle resolves them.
      stdin: { contents: source, resolveDir: path.dirname(dist), loader: "js" },
      outfile: out,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node22",
      banner: {
        js:
          'import { createRequire as __bundleRequire, enableCompileCache } from "node:module";\n' +
          "enableCompileCache();\nconst require = __bundleRequire(import.meta.url);",
      },
      logLevel: "warning",
    });
    programs.push([label, out]);
  }
  return programs;
}
