// Concurrent bumps never lose an update (DESIGN §4): twenty real `sysconfig bump` processes against one
// bare remote, read back with git at the end.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { runCli, type CliResult } from "./helpers/cli.js";
import { fileAt, git, manyServicesRemote, serviceNames, tagAt } from "./helpers/config-repos.js";
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
    expect(await readdir(tmp)).toEqual([]);
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
