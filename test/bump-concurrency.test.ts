// Concurrent bumps never lose an update (DESIGN §4): twenty real `sysconfig bump` processes against one
// bare remote, read back with git at the end.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { runCli, type CliResult } from "./helpers/cli.js";
import {
  bareClone,
  cloneOf,
  fileAt,
  git,
  initExample,
  manyServicesRemote,
  serviceNames,
  tagAt,
} from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-bump-concurrency-"));
});
afterAll(() => cleanup());

async function concurrently(
  remote: string,
  jobs: [service: string, tag: string][],
  tmp: string,
): Promise<CliResult[]> {
  await mkdir(tmp);
  return Promise.all(
    jobs.map(([service, tag]) =>
      runCli(["bump", service, tag, "--repo", remote, "--output", "json"], { env: { TMPDIR: tmp } }),
    ),
  );
}

/** Sysconfig-Tag trailers of the branch's bump commits, oldest first. */
function bumpedTags(remote: string, branch: string, service: string): string[] {
  const format =
    "%(trailers:key=Sysconfig-Service,valueonly,separator=)|%(trailers:key=Sysconfig-Tag,valueonly,separator=)";
  return git(["log", "--reverse", `--format=${format}`, branch], remote)
    .split("\n")
    .map((line) => line.split("|"))
    .filter(([s]) => s === service)
    .map(([, tag]) => tag ?? "");
}

describe("bump: concurrent bumps", () => {
  it("lands all of 20 concurrent bumps of 20 different services", async () => {
    const remote = await manyServicesRemote(path.join(root, "many"), 20);
    const names = serviceNames(20);
    const tmp = path.join(root, "tmp-many");
    const results = await concurrently(
      remote,
      names.map((name, i) => [name, `${100 + i}-develop`]),
      tmp,
    );
    const failures = results.filter((r) => r.code !== 0).map((r) => `${r.code}: ${r.stderr}`);
    expect(failures).toEqual([]);
    for (const [i, name] of names.entries()) {
      expect(tagAt(remote, "develop", name)).toBe(`${100 + i}-develop`);
      expect(fileAt(remote, "develop", `rendered/${name}.yaml`)).toContain(`${name}:${100 + i}-develop`);
    }
    // One commit per bump on top of the initial one; every process reported what landed.
    expect(git(["rev-list", "--count", "develop"], remote)).toBe("21\n");
    const reported = results.map((r) => JSON.parse(r.stdout) as { pushed: boolean; commit: string });
    expect(reported.every((r) => r.pushed)).toBe(true);
    const history = git(["rev-list", "develop"], remote);
    for (const r of reported) expect(history).toContain(r.commit);
    // no temp clone left (Node's compile cache, TMPDIR/node-compile-cache, is kept on purpose)
    expect((await readdir(tmp)).filter((name) => name !== "node-compile-cache")).toEqual([]);
  });

  it("ends at the highest of 20 concurrent bumps of one service; every process exits 0 or 4", async () => {
    const remote = await manyServicesRemote(path.join(root, "one"), 3);
    const jobs = Array.from({ length: 20 }, (_, i): [string, string] => ["svc01", `${60 + i}-develop`]);
    const results = await concurrently(remote, jobs, path.join(root, "tmp-one"));
    const codes = results.map((r) => r.code);
    expect(codes.filter((c) => c !== 0 && c !== 4)).toEqual([]);
    expect(results[19]?.code).toBe(0);
    expect(tagAt(remote, "develop", "svc01")).toBe("79-develop");
    expect(fileAt(remote, "develop", "rendered/svc01.yaml")).toContain("svc01:79-develop");
    // The refused ones say why; the history only ever moved up.
    for (const r of results.filter((x) => x.code === 4)) expect(r.stderr).toContain("monotonic rule");
    const tags = bumpedTags(remote, "develop", "svc01").map((t) => Number(t.split("-")[0]));
    expect(tags.length).toBeGreaterThan(0);
    expect(tags).toEqual([...tags].sort((a, b) => a - b));
    expect(new Set(tags).size).toBe(tags.length);
  });
});

describe("bump: concurrent bumps in one working checkout", () => {
  const SERVICES = ["hello", "worker", "legacy-api"];

  /** Three bumps started at once in `work`, as `bump a & bump b & bump c & wait` does. */
  async function threeAtOnce(work: string, build: number): Promise<CliResult[]> {
    return Promise.all(
      SERVICES.map((service) =>
        runCli(["bump", service, `${build}-develop`, "--output", "json"], { cwd: work }),
      ),
    );
  }

  async function expectAllLanded(work: string, results: CliResult[], build: number, before: number) {
    expect(results.map((r) => `${r.code}: ${r.stderr}`)).toEqual(
      SERVICES.map(() => expect.stringMatching(/^0: /)),
    );
    for (const service of SERVICES) expect(tagAt(work, "develop", service)).toBe(`${build}-develop`);
    const commits = results.map((r) => (JSON.parse(r.stdout) as { commit: string }).commit);
    expect(new Set(commits).size).toBe(3);
    expect(Number(git(["rev-list", "--count", "develop"], work))).toBe(before + 3);
    expect(git(["status", "--porcelain"], work)).toBe("");
    // sysconfig.yaml and rendered/ agree at HEAD: validate (and so build) accept it.
    const validate = await runCli(["validate", "--repo", work]);
    expect(`${validate.code}: ${validate.stderr}`).toBe("0: ");
    expect(await readdir(path.join(work, ".git"))).not.toContain("sysconfig.lock");
  }

  it("lands all three bumps started at once in a checkout without upstream, trial after trial", async () => {
    const work = await initExample(path.join(root, "checkout-local"));
    for (let trial = 0; trial < 5; trial++) {
      const before = Number(git(["rev-list", "--count", "develop"], work));
      await expectAllLanded(work, await threeAtOnce(work, 2 + trial), 2 + trial, before);
    }
  });

  it("lands all three bumps started at once in a checkout that pushes to its upstream", async () => {
    const parent = path.join(root, "checkout-upstream");
    const remote = bareClone(await initExample(parent), path.join(parent, "remote.git"));
    const work = cloneOf(remote, parent);
    for (let trial = 0; trial < 3; trial++) {
      const before = Number(git(["rev-list", "--count", "develop"], work));
      const results = await threeAtOnce(work, 2 + trial);
      await expectAllLanded(work, results, 2 + trial, before);
      expect(git(["rev-parse", "develop"], remote)).toBe(git(["rev-parse", "develop"], work));
    }
  });

  it("refuses with exit 4 naming the holder when the checkout's lock stays held, changing nothing", async () => {
    const work = await initExample(path.join(root, "checkout-held"));
    const head = git(["rev-parse", "HEAD"], work);
    const lock = path.join(work, ".git", "sysconfig.lock");
    const holder = {
      pid: process.pid,
      host: hostname(),
      purpose: "bump web 9-develop",
      since: "2026-01-01T00:00:00Z",
    };
    await writeFile(lock, JSON.stringify(holder));
    const result = await runCli(["bump", "hello", "2-develop", "--lock-timeout", "1"], { cwd: work });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`${lock} is held by bump web 9-develop, pid ${process.pid}`);
    expect(result.stderr).toContain("--lock-timeout");
    expect(result.stderr).toContain("Nothing was changed.");
    expect(git(["rev-parse", "HEAD"], work)).toBe(head);
    expect(await readFile(lock, "utf8")).toBe(JSON.stringify(holder));
    await rm(lock);
  });

  it("says a dead holder no longer runs and how to recover", async () => {
    const work = await initExample(path.join(root, "checkout-dead"));
    const lock = path.join(work, ".git", "sysconfig.lock");
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    await writeFile(
      lock,
      JSON.stringify({ pid: Number(dead), host: hostname(), purpose: "bump x 1-develop", since: "?" }),
    );
    const result = await runCli(["bump", "hello", "2-develop", "--lock-timeout", "1"], { cwd: work });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("That process no longer runs");
    expect(result.stderr).toContain(`remove ${lock}`);
  });

  it("build racing bumps in the same checkout never calls rendered/ stale", async () => {
    const work = await initExample(path.join(root, "checkout-build"));
    let bumping = true;
    const bumps = (async () => {
      for (let build = 2; build < 8; build++) {
        const r = await runCli(["bump", SERVICES[build % 3] ?? "hello", `${build}-develop`], { cwd: work });
        expect(`${r.code}: ${r.stderr}`).toMatch(/^0: /);
      }
      bumping = false;
    })();
    const builds: CliResult[] = [];
    while (bumping) builds.push(await runCli(["build", "--dry-run", "--repo", work]));
    await bumps;
    expect(builds.length).toBeGreaterThan(0);
    for (const b of builds) {
      expect(b.stderr).not.toContain("stale");
      expect(b.stderr).not.toContain("uncommitted changes");
      if (b.code !== 0)
        expect(`${b.code}: ${b.stderr}`).toMatch(
          /^4: .*changing under it|^4: .*changed while build read it/s,
        );
    }
  });
});
