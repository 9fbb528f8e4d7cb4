// One `git status --porcelain=v2 --branch` call says what a checkout's origin needs: revision, branch, changed paths.
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { checkoutStatus } from "../reconciler/desired/git-status.js";
import { tempDir } from "./helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-git-status-"));
});
afterEach(() => cleanup());

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir })
    .toString()
    .trim();

describe("checkoutStatus", () => {
  it("is undefined outside a git work tree", async () => {
    expect(await checkoutStatus(dir)).toBeUndefined();
  });

  it("names the branch of a repository without commits, no revision, and every file as changed", async () => {
    git("init", "-q", "-b", "develop");
    await mkdir(path.join(dir, "rendered"));
    await writeFile(path.join(dir, "rendered", "a b.yaml"), "x\n");
    expect(await checkoutStatus(dir)).toEqual({
      revision: undefined,
      branch: "develop",
      changed: ["rendered/a b.yaml"],
    });
  });

  it("reports HEAD, the branch, and modified, renamed (new name), added and untracked paths", async () => {
    git("init", "-q", "-b", "staging");
    await mkdir(path.join(dir, "rendered"));
    for (const f of ["one.yaml", "two.yaml", "three.yaml"])
      await writeFile(path.join(dir, "rendered", f), `${f}\n`);
    git("add", "-A");
    git("commit", "-qm", "init");
    const head = git("rev-parse", "HEAD");
    expect(await checkoutStatus(dir)).toEqual({ revision: head, branch: "staging", changed: [] });
    await writeFile(path.join(dir, "rendered", "one.yaml"), "changed\n");
    await rename(path.join(dir, "rendered", "two.yaml"), path.join(dir, "rendered", "renamed.yaml"));
    git("add", "-A", "rendered/two.yaml", "rendered/renamed.yaml");
    await writeFile(path.join(dir, "new file.txt"), "n\n");
    const status = await checkoutStatus(dir);
    expect(status?.revision).toBe(head);
    expect(status?.changed.sort()).toEqual(["new file.txt", "rendered/one.yaml", "rendered/renamed.yaml"]);
  });

  it("has no branch on a detached HEAD", async () => {
    git("init", "-q", "-b", "staging");
    await writeFile(path.join(dir, "f"), "f\n");
    git("add", "-A");
    git("commit", "-qm", "init");
    git("checkout", "-q", "--detach");
    expect((await checkoutStatus(dir))?.branch).toBeUndefined();
  });
});
