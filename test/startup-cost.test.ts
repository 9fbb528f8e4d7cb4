// What a `sysconfig validate` process costs before its own work: no git process for a plain checkout, no
// module it does not use, compiled code kept between runs (docs/performance.md).
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { ROOT, runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-startup-"));
});
afterEach(() => cleanup());

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd })
    .toString()
    .trim();

/** A committed fleet config repo of three services on branch `branch`. */
async function configRepo(at: string, branch = "staging"): Promise<string> {
  execFileSync("git", ["init", "-q", "-b", branch, at]);
  await writeFleetRepo(at, {
    name: "startup",
    environment: branch,
    endpoint: "unix:///nonexistent/fleet.sock",
    services: { a: {}, b: {}, c: {} },
  });
  git(at, "add", "-A");
  git(at, "commit", "-qm", "config");
  return at;
}

describe("sysconfig validate's start-up", () => {
  it("takes the environment from .git/HEAD of a plain checkout without starting git", async () => {
    const repo = await configRepo(path.join(dir, "repo"));
    // No git on PATH: a git process would fail, and the branch could not be named.
    const result = await runCli(["validate", "--repo", repo], { env: { PATH: "/nonexistent" } });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("rendered/ current for staging");
  });

  it("still asks git about a linked worktree, whose .git is a file", async () => {
    const repo = await configRepo(path.join(dir, "repo"));
    git(repo, "branch", "other");
    const linked = path.join(dir, "linked");
    git(repo, "worktree", "add", "-q", linked, "staging", "--force");
    git(repo, "checkout", "-q", "other");
    const result = await runCli(["validate", "--repo", linked]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("rendered/ current for staging");
  });

  it("refuses a directory inside a checkout, which has no .git of its own", async () => {
    const repo = await configRepo(path.join(dir, "repo"));
    const result = await runCli(["validate", "--repo", path.join(repo, "rendered")]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("is not the top of a git repo");
  });

  it("loads none of the encryption or target libraries, nor zod's classic API or node:crypto, for a config without secrets", async () => {
    const repo = await configRepo(path.join(dir, "repo"));
    const probe = path.join(dir, "probe.mjs");
    await writeFile(
      probe,
      `import { registerHooks } from "node:module";
import { writeSync } from "node:fs";
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on("exit", () => {
  writeSync(2, "LOADED " + JSON.stringify(loaded) + "\\n");
  // Node's own modules loaded in this process (undocumented, but what Node's own tests read).
  writeSync(2, "BUILTINS " + JSON.stringify(process.moduleLoadList) + "\\n");
});
`,
    );
    const result = await runCli(["validate", "--repo", repo], { env: { NODE_OPTIONS: `--import=${probe}` } });
    expect(result.code).toBe(0);
    const line = result.stderr.split("\n").find((l) => l.startsWith("LOADED "));
    const loaded = JSON.parse(line?.slice("LOADED ".length) ?? "[]") as string[];
    const builtinsLine = result.stderr.split("\n").find((l) => l.startsWith("BUILTINS "));
    const builtins = JSON.parse(builtinsLine?.slice("BUILTINS ".length) ?? "[]") as string[];
    expect(builtins).toContain("NativeModule fs"); // the probe sees Node's modules
    // node:crypto loads ~20 internal modules (~10 ms); validate hashes nothing without secrets.
    expect(builtins.filter((m) => /^NativeModule (internal\/)?crypto/.test(m))).toEqual([]);
    // The CLI runs from its bundle (scripts/bundle.ts): a loaded file of it holds the modules that
    // inputs.json lists for it; anything else is a module file of its own.
    const bundleDir = pathToFileURL(path.join(ROOT, "dist/cli/bundle/")).href;
    const inputs = JSON.parse(
      await readFile(path.join(ROOT, "dist/cli/bundle/inputs.json"), "utf8"),
    ) as Record<string, string[]>;
    const modules = loaded.flatMap((url) =>
      url.startsWith(bundleDir) ? (inputs[url.slice(bundleDir.length)] ?? [url]) : [url],
    );
    expect(loaded.some((url) => url.startsWith(bundleDir))).toBe(true); // the CLI ran from its bundle
    expect(modules.some((m) => m.includes("node_modules/zod/"))).toBe(true); // the probe sees the modules
    const packages = [
      "age-encryption",
      "@noble",
      "dockerode",
      "docker-modem",
      "ssh2",
      "@kubernetes",
      "simple-git",
      "yaml/dist",
      "prom-client",
      "zod/v4/classic", // zod/mini instead: reconciler/config/zod-setup.ts
    ];
    expect(modules.filter((m) => packages.some((p) => m.includes(`node_modules/${p}/`)))).toEqual([]);
  });

  it("keeps its compiled code in NODE_COMPILE_CACHE for the next run", async () => {
    const repo = await configRepo(path.join(dir, "repo"));
    const cache = path.join(dir, "compile-cache");
    const result = await runCli(["validate", "--repo", repo], { env: { NODE_COMPILE_CACHE: cache } });
    expect(result.code).toBe(0);
    const versions = await readdir(cache);
    expect(versions).toHaveLength(1);
    // main.js and the bundle's files that validate loads.
    expect((await readdir(path.join(cache, versions[0] ?? ""))).length).toBeGreaterThan(3);
  });
});
