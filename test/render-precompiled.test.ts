// The templates `npm run build` compiles beside the CLI's bundle (reconciler/render/precompiled.ts): every
// built-in and example template is there, and what the CLI renders with them is byte for byte what
// compiling the template renders (these tests run the TypeScript, which compiles).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../reconciler/config/load.js";
import { PRECOMPILED_FILE } from "../reconciler/render/precompiled.js";
import { renderAll } from "../reconciler/render/render.js";
import { ROOT } from "./helpers/cli.js";
import { cloneOf, initExample } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let work: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-precompiled-"));
  work = await initExample(root); // rendered by the built CLI, from its bundle
});
afterAll(() => cleanup());

describe("templates compiled at build time", () => {
  it("hold every built-in and example template, keyed by its text", async () => {
    const specs = JSON.parse(
      await readFile(path.join(ROOT, "dist/cli/bundle", PRECOMPILED_FILE), "utf8"),
    ) as Record<string, string>;
    const templates: string[] = [];
    for (const dir of ["templates", "sysconfig-example/templates"]) {
      for (const file of await readdir(path.join(ROOT, dir), { recursive: true })) {
        if (file.endsWith(".hbs")) templates.push(path.join(dir, file));
      }
    }
    expect(templates.length).toBeGreaterThanOrEqual(7);
    for (const file of templates) {
      const key = await readFile(path.join(ROOT, file), "utf8"); // the compiled forms are keyed by text
      expect({ file, compiled: typeof specs[key] }).toEqual({ file, compiled: "string" });
      // Compiled with the output-counting compiler (helpers.ts): a precompiled render is bounded too.
      expect(specs[key]).toContain("__sysconfigEmit");
    }
  });

  it("render what compiling renders, in every environment of the example", async () => {
    for (const branch of ["develop", "staging", "master"]) {
      const dir = cloneOf(work, root, branch);
      const files = await renderAll(dir, await loadConfig(dir), branch);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const committed = await readFile(path.join(dir, file.path), "utf8");
        expect({ branch, path: file.path, same: committed === file.content }).toEqual({
          branch,
          path: file.path,
          same: true,
        });
      }
    }
  });
});
