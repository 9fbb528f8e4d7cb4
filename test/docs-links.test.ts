// The README and docs/ name files, anchors and repo paths; a rename that forgets them leaves a reader at
// a dead end. Every one must exist. Needs no services.
import { describe, expect, it } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./helpers/cli.js";
import { anchorsOf, linkProblems, slugOf } from "./helpers/doc-links.js";

const pages = ["README.md", ...readdirSync(path.join(ROOT, "docs")).map((name) => `docs/${name}`)].filter(
  (file) => file.endsWith(".md"),
);

function filesUnder(dir: string, extension = ""): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return filesUnder(rel, extension);
    return rel.endsWith(extension) ? [rel] : [];
  });
}

describe("links and paths in README.md and docs/", () => {
  it.each(pages)(
    "%s links only to files and headings that exist, and names only paths that exist",
    (file) => {
      expect(linkProblems(ROOT, file, readFileSync(path.join(ROOT, file), "utf8"))).toEqual([]);
    },
  );

  it("a link to a missing file or heading, a stale repo path and a stale file name are each reported by line", () => {
    const text = [
      "# Title",
      "See [the fleet page](fleet.md#performance) and [gone](no-such-page.md).",
      "The lock lives in `reconciler/targets/fleet/lock.ts`, not `reconciler/targets/fleet/fleet-lock.ts`.",
      "Old: reconciler/plan/mask.ts and [a heading](#nowhere), [this page](#title).",
      "| `kubernetes-target.ts` | wires the modules | `target.ts` | the new name |",
      "```",
      "reconciler/in/a/code/block.ts is not a link",
      "```",
    ].join("\n");
    expect(linkProblems(ROOT, "docs/example.md", text)).toEqual([
      "docs/example.md:2: link no-such-page.md: no such file docs/no-such-page.md",
      "docs/example.md:3: path reconciler/targets/fleet/fleet-lock.ts does not exist",
      "docs/example.md:4: link #nowhere: docs/example.md has no heading #nowhere",
      "docs/example.md:4: path reconciler/plan/mask.ts does not exist",
      "docs/example.md:5: file name kubernetes-target.ts is no file of this repository",
    ]);
  });

  it("anchors follow GitHub's rule: lower case, punctuation dropped, spaces to hyphens, duplicates numbered", () => {
    expect(slugOf("The lock — what it does and does not guarantee")).toBe(
      "the-lock--what-it-does-and-does-not-guarantee",
    );
    expect(slugOf("Where it commits (`--repo`)")).toBe("where-it-commits---repo");
    expect([...anchorsOf("## Performance\n```\n# not a heading\n```\n### Performance\n")]).toEqual([
      "performance",
      "performance-1",
    ]);
  });
});

describe("pointers from error messages to the docs", () => {
  it("every docs/PAGE.md the code and the example repo name exists, with the section it names", () => {
    const problems: string[] = [];
    let pointers = 0;
    const files = [
      ...filesUnder("reconciler", ".ts"),
      ...filesUnder("cli", ".ts"),
      ...filesUnder("sysconfig-example"),
    ];
    for (const file of files) {
      const text = readFileSync(path.join(ROOT, file), "utf8");
      if (/see README/.test(text))
        problems.push(`${file}: points to the README; point to the docs page instead`);
      for (const match of text.matchAll(/(docs\/[a-z-]+\.md)(?:, "([^"]+)")?/g)) {
        pointers += 1;
        const [, page = "", section] = match;
        let content = "";
        try {
          content = readFileSync(path.join(ROOT, page), "utf8");
        } catch {
          problems.push(`${file}: ${page} does not exist`);
          continue;
        }
        if (section !== undefined && !anchorsOf(content).has(slugOf(section))) {
          problems.push(`${file}: ${page} has no section "${section}"`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(pointers).toBeGreaterThan(0);
  });
});
