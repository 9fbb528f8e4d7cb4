// Every command that writes in a local checkout takes its lock (.git/sysconfig.lock), so concurrent writers
// in one checkout never lose each other's work: render racing bumps, two inits into one directory.
// Real git repos, the built CLI.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { runCli, type CliResult } from "./helpers/cli.js";
import { git, initExample, tagAt } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-checkout-writers-"));
});
afterAll(() => cleanup());

const SERVICES = ["hello", "worker", "legacy-api"];

describe("render takes the checkout's lock", () => {
  it("waits for a held lock and gives up with exit 4 naming the holder, writing nothing", async () => {
    const work = await initExample(path.join(root, "render-held"));
    await rm(path.join(work, "rendered", "hello.yaml"));
    const lock = path.join(work, ".git", "sysconfig.lock");
    const holder = { pid: process.pid, host: hostname(), purpose: "bump hello 9-develop", since: "?" };
    await writeFile(lock, JSON.stringify(holder));
    const result = await runCli(["render", "--repo", work, "--lock-timeout", "1"]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`render refused by the checkout lock: ${lock} is held by bump hello`);
    expect(result.stderr).toContain("Nothing was changed.");
    expect(await readdir(path.join(work, "rendered"))).not.toContain("hello.yaml");
    expect(await readFile(lock, "utf8")).toBe(JSON.stringify(holder));
    await rm(lock);
    const after = await runCli(["render", "--repo", work]);
    expect(`${after.code}: ${after.stderr}`).toMatch(/^0: .*wrote rendered\/hello\.yaml/s);
    expect(await readdir(path.join(work, ".git"))).not.toContain("sysconfig.lock");
  });

  it("render racing bumps in one checkout loses no bump: the tree stays clean and current", async () => {
    const work = await initExample(path.join(root, "render-race"));
    let bumping = true;
    const bumps: CliResult[] = [];
    const bumper = (async () => {
      for (let build = 2; build < 8; build++) {
        bumps.push(await runCli(["bump", SERVICES[build % 3] ?? "hello", `${build}-develop`], { cwd: work }));
      }
      bumping = false;
    })();
    const renders: CliResult[] = [];
    while (bumping) renders.push(await runCli(["render", "--repo", work]));
    await bumper;
    expect(bumps.map((b) => `${b.code}: ${b.stderr}`)).toEqual(
      bumps.map(() => expect.stringMatching(/^0: /)),
    );
    expect(renders.length).toBeGreaterThan(0);
    for (const r of renders) expect(`${r.code}: ${r.stderr}`).toMatch(/^0: /);
    // Every bump's tag is in sysconfig.yaml and rendered/ at HEAD, and nothing was written back over them.
    for (let build = 5; build < 8; build++) {
      expect(tagAt(work, "develop", SERVICES[build % 3] ?? "")).toBe(`${build}-develop`);
    }
    expect(git(["status", "--porcelain"], work)).toBe("");
    const check = await runCli(["render", "--check", "--repo", work]);
    expect(`${check.code}: ${check.stderr}`).toMatch(/^0: /);
  });
});

describe("init takes the new checkout for itself", () => {
  it("two inits racing into one empty directory: one makes the repo, the other is refused and removes nothing", async () => {
    for (let trial = 0; trial < 3; trial++) {
      const dir = path.join(root, `init-race-${trial}`);
      await mkdir(dir);
      const results = await Promise.all([runCli(["init", dir]), runCli(["init", dir])]);
      const codes = results.map((r) => r.code).sort();
      expect({ trial, codes }).toEqual({ trial, codes: [0, 3] });
      const loser = results.find((r) => r.code === 3);
      expect(loser?.stderr).toMatch(/not empty|another init/);
      expect(git(["status", "--porcelain"], dir)).toBe("");
      const validate = await runCli(["validate", "--repo", dir]);
      expect(`${validate.code}: ${validate.stderr}`).toBe("0: ");
      expect(await readdir(path.join(dir, ".git"))).not.toContain("sysconfig.lock");
    }
  });
});
