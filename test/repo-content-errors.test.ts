// Broken repo content never ends in a stack trace: a YAML alias bomb anywhere YAML is read, a directory
// where a rendered file belongs, a file where rendered/ belongs, a sysconfig.yaml too large to be a config.
// Each is exit 3 naming the path and what to fix, with nothing written (no temp files left behind).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, type CliResult } from "./helpers/cli.js";
import {
  bareClone,
  cloneOf,
  commitAll,
  initExample,
  refsOf,
  setOwnTemplate,
} from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let work: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-content-errors-"));
  work = await initExample(root);
});
afterAll(() => cleanup());

const checkout = (branch?: string): string => cloneOf(work, root, branch);

/** Ten aliases of ten aliases of …: 10^4 nodes from 40 lines, refused by yaml past 100 aliases. */
const ALIAS_BOMB = [
  "bomb0: &a [x, x, x, x, x, x, x, x, x, x]",
  "bomb1: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "bomb2: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "bomb3: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
].join("\n");

function expectCleanRefusal(result: CliResult, ...needles: string[]): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 3, stderr: expect.any(String) });
  for (const needle of needles) expect(result.stderr).toContain(needle);
  expect(result.stderr).not.toContain("internal error");
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe("a YAML alias bomb is invalid input, never a stack trace", () => {
  it("in sysconfig.yaml: validate, render, plan, build and bump each exit 3", async () => {
    const dir = checkout();
    const file = path.join(dir, "sysconfig.yaml");
    await writeFile(file, `${await readFile(file, "utf8")}${ALIAS_BOMB}\n`);
    commitAll(dir);
    const remote = bareClone(dir, path.join(root, `bomb-${path.basename(dir)}.git`));
    const before = refsOf(remote);
    for (const args of [
      ["validate", "--repo", dir],
      ["render", "--repo", dir],
      ["plan", "--repo", dir, "--endpoint", "unix:///nonexistent/docker.sock"],
      ["build", "--dry-run", "--repo", dir],
      ["bump", "hello", "2-develop", "--repo", remote],
    ]) {
      expectCleanRefusal(await runCli(args), "sysconfig.yaml", "Excessive alias count");
    }
    expect(refsOf(remote)).toBe(before);
  });

  it("in a rendered docker spec (a service's own template): validate and render exit 3 naming the file, writing nothing", async () => {
    const dir = checkout();
    await writeFile(
      path.join(dir, "templates/bomb.docker.hbs"),
      `service: {{json service.name}}\nimage: {{json service.imageRef}}\n${ALIAS_BOMB}\n`,
    );
    await setOwnTemplate(dir, "hello", "docker", "templates/bomb.docker.hbs");
    expectCleanRefusal(
      await runCli(["validate", "--repo", dir]),
      "rendered/hello.yaml",
      "Excessive alias count",
    );
    expectCleanRefusal(
      await runCli(["render", "--repo", dir]),
      "rendered/hello.yaml",
      "Excessive alias count",
    );
    expect(await readFile(path.join(dir, "rendered/hello.yaml"), "utf8")).not.toContain("bomb");
  });
});

describe("rendered/ in the way", () => {
  it("refuses a directory where a rendered file belongs (exit 3), writing nothing and leaving no temp file", async () => {
    const dir = checkout();
    await rm(path.join(dir, "rendered/hello.yaml"));
    await mkdir(path.join(dir, "rendered/hello.yaml"));
    await writeFile(path.join(dir, "rendered/hello.yaml/inside"), "x\n");
    const legacy = path.join(dir, "rendered/legacy-api.yaml");
    await writeFile(legacy, "stale\n");
    for (let run = 0; run < 2; run++) {
      expectCleanRefusal(
        await runCli(["render", "--repo", dir]),
        "rendered/hello.yaml is a directory",
        "git rm -r rendered/hello.yaml",
      );
    }
    expect(await readFile(legacy, "utf8")).toBe("stale\n");
    expect((await readdir(path.join(dir, "rendered"))).filter((f) => f.includes(".tmp-"))).toEqual([]);
    expectCleanRefusal(await runCli(["validate", "--repo", dir]), "rendered/hello.yaml is a directory");
  });

  it("refuses a rendered that is a plain file (exit 3) and leaves it alone", async () => {
    const dir = checkout();
    await rm(path.join(dir, "rendered"), { recursive: true });
    await writeFile(path.join(dir, "rendered"), "not a directory\n");
    for (const args of [["render"], ["render", "--check"], ["validate"]]) {
      expectCleanRefusal(await runCli([...args, "--repo", dir]), "rendered is a file", "git rm rendered");
    }
    expect(await readFile(path.join(dir, "rendered"), "utf8")).toBe("not a directory\n");
  });

  it("refuses a FIFO where a rendered file or sysconfig.yaml belongs (exit 3) instead of blocking on it", async () => {
    const dir = checkout();
    await rm(path.join(dir, "rendered/hello.yaml"));
    execFileSync("mkfifo", [path.join(dir, "rendered/hello.yaml")]);
    for (const args of [["render"], ["render", "--check"], ["validate"]]) {
      expectCleanRefusal(
        await runCli([...args, "--repo", dir]),
        "rendered/hello.yaml read failed: it is not a regular file",
      );
    }
    await rm(path.join(dir, "sysconfig.yaml"));
    execFileSync("mkfifo", [path.join(dir, "sysconfig.yaml")]);
    expectCleanRefusal(
      await runCli(["validate", "--repo", dir]),
      "sysconfig.yaml read failed: it is not a regular file",
    );
  });

  it("refuses a sysconfig.yaml that is a directory (exit 3)", async () => {
    const dir = checkout();
    await rm(path.join(dir, "sysconfig.yaml"));
    await mkdir(path.join(dir, "sysconfig.yaml"));
    expectCleanRefusal(
      await runCli(["validate", "--repo", dir]),
      "sysconfig.yaml read failed: it is a directory",
    );
  });
});

describe("the size of sysconfig.yaml", () => {
  it("refuses a config past 1 MiB with the limit (exit 3), without parsing it", async () => {
    const dir = checkout();
    const file = path.join(dir, "sysconfig.yaml");
    const padding = `# ${"x".repeat(1022)}\n`.repeat(1024 + 1);
    await writeFile(file, `${await readFile(file, "utf8")}${padding}`);
    const started = Date.now();
    const result = await runCli(["validate", "--repo", dir]);
    expectCleanRefusal(result, "larger than sysconfig reads (1048576 bytes, 1 MiB");
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("still refuses a key given twice in one map, naming the line", async () => {
    const dir = checkout();
    const file = path.join(dir, "sysconfig.yaml");
    const text = await readFile(file, "utf8");
    const line = text.split("\n").findIndex((l) => l.startsWith("    tag: ")) + 2;
    await writeFile(file, text.replace(/\n( {4}tag: .*\n)/, "\n$1    tag: 2-develop\n"));
    expectCleanRefusal(
      await runCli(["validate", "--repo", dir]),
      `sysconfig.yaml:${line}: the key "tag" appears twice in the same map`,
    );
  });
});
