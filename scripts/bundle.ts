// Part of `npm run build`, after tsc: bundles the command line (dist/cli/run.js, everything it imports,
// and the npm packages it uses) into a few files under dist/cli/bundle/, which dist/cli/main.js loads.
// Node resolves and reads ~250 module files per run otherwise: ~0.06 s of every command's start-up
// (docs/performance.md, "Fifth round"). Each command's code stays in its own chunk, loaded when
// the command runs, as the separate modules were.
//
// Left out, loaded from node_modules as before: what has native code (ssh2 and its optional
// cpu-features), what sysconfig loads by createRequire (yaml, diff, age-encryption: rarely needed), and
// @kubernetes/client-node (only for exec credential plugins; 17 MB bundled).
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(import.meta.filename), "..");
const out = path.join(root, "dist/cli/bundle");

fs.rmSync(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { run: "dist/cli/run.js" },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  // Chunks beside the entry: code that finds files from its own import.meta.url (the web page's
  // assets, copied below) finds them from any chunk.
  chunkNames: "[name]-[hash]",
  external: ["ssh2", "cpu-features", "*.node", "@kubernetes/client-node"],
  // CommonJS packages inside an ES module bundle call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __bundleRequire } from "node:module";\nconst require = __bundleRequire(import.meta.url);',
  },
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});
fs.cpSync(path.join(root, "reconciler/serve/ui/assets"), path.join(out, "assets"), { recursive: true });
await precompileTemplates();
// Which packages each file holds: the start-up test checks that a command loads only what it uses.
const inputs = Object.fromEntries(
  Object.entries(result.metafile.outputs).map(([file, meta]) => [
    path.basename(file),
    Object.keys(meta.inputs),
  ]),
);
fs.writeFileSync(path.join(out, "inputs.json"), `${JSON.stringify(inputs, null, 1)}\n`);

/**
 * The built-in and example templates, compiled (reconciler/render/precompiled.ts), beside the bundle:
 * with the helpers and the output-counting compiler the bundle renders with (the same code, from dist/).
 */
async function precompileTemplates(): Promise<void> {
  const { createHandlebars } = (await import(
    path.join(root, "dist/reconciler/render/helpers.js")
  )) as typeof import("../reconciler/render/helpers.ts");
  const { COMPILE_OPTIONS, PRECOMPILED_FILE } = (await import(
    path.join(root, "dist/reconciler/render/precompiled.js")
  )) as typeof import("../reconciler/render/precompiled.ts");
  const handlebars = createHandlebars();
  const specs: Record<string, string> = {};
  for (const dir of ["templates", "sysconfig-example/templates"]) {
    for (const file of fs.readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".hbs")) continue;
      const source = fs.readFileSync(path.join(root, dir, file), "utf8");
      // JavaScript text, though typed as the object it evaluates to.
      const spec: unknown = handlebars.precompile(handlebars.parse(source), COMPILE_OPTIONS);
      if (typeof spec !== "string") throw new Error(`precompiling ${dir}/${file} gave no JavaScript text`);
      specs[source] = spec;
    }
  }
  fs.writeFileSync(path.join(out, PRECOMPILED_FILE), `${JSON.stringify(specs)}\n`);
}
