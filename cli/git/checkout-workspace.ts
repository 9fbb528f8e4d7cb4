// Workspace for a local working checkout (--repo . in a CI job that checked the config repo out).
// The bump commits there, on the checked-out branch, so the operator sees it in their own clone; when the
// branch tracks an upstream it is first fast-forwarded to it and the commit is pushed there (never forced).
import { realpath } from "node:fs/promises";
import { InvalidInputError } from "../../reconciler/errors.js";
import { withTransientRetry } from "./clone-workspace.js";
import { commitPaths, headOf, type OpenOptions, type Workspace } from "./workspace.js";

export async function openCheckout(dir: string, options: OpenOptions): Promise<Workspace> {
  const { git, branch, reporter } = options;
  const top = (await git.run(["rev-parse", "--show-toplevel"], dir)).trim();
  if ((await realpath(top)) !== (await realpath(dir))) {
    throw new InvalidInputError(
      `--repo ${dir} bump failed: it is inside the git checkout ${top}, not its top. Pass the checkout's top ` +
        `directory (where sysconfig.yaml is). Nothing was changed.`,
    );
  }
  const current = (await git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], dir).catch(() => "")).trim();
  if (current !== branch) {
    throw new InvalidInputError(
      `--repo ${dir} bump failed: the checkout is on ${current === "" ? "a detached HEAD" : `branch '${current}'`}, ` +
        `but the bump is for '${branch}'. A working checkout is bumped on its checked-out branch: run ` +
        `'git switch ${branch}' first, or pass --repo with the config repo's URL. Nothing was changed.`,
    );
  }
  const dirty = (await git.run(["status", "--porcelain", "--untracked-files=no"], dir)).trim();
  if (dirty !== "") {
    throw new InvalidInputError(
      `--repo ${dir} bump failed: the checkout has uncommitted changes (${dirty.split("\n").length} file(s)); ` +
        `a bump commits only its own change. Commit or stash them first. Nothing was changed.`,
    );
  }
  const remote = await config(options, dir, `branch.${branch}.remote`);
  const merge = await config(options, dir, `branch.${branch}.merge`);
  const upstream =
    remote !== undefined && remote !== "." && merge !== undefined ? { remote, merge } : undefined;
  const fetch = async () => {
    if (!upstream) return;
    await withTransientRetry(options.attempts, reporter, () =>
      git.run(["fetch", "--quiet", "--no-tags", "--", upstream.remote, upstream.merge], dir),
    );
  };
  if (upstream) {
    await fetch();
    const ahead = Number((await git.run(["rev-list", "--count", "FETCH_HEAD..HEAD"], dir)).trim());
    if (ahead > 0) {
      throw new InvalidInputError(
        `--repo ${dir} bump failed: '${branch}' has ${ahead} commit(s) not on its upstream ` +
          `${upstream.remote}/${upstream.merge.replace(/^refs\/heads\//, "")}; a bump pushes only its own commit. ` +
          `Push or drop them first. Nothing was changed.`,
      );
    }
    if (!options.readOnly) await git.run(["merge", "--quiet", "--ff-only", "FETCH_HEAD"], dir);
  } else {
    reporter.info(`${dir}: '${branch}' has no upstream; the bump is committed locally and not pushed`);
  }
  let base = await headOf(git, dir);
  return {
    dir,
    branch,
    pushTarget: upstream ? `${upstream.remote} ${upstream.merge.replace(/^refs\/heads\//, "")}` : undefined,
    commit: async (paths, added, message) => {
      base = await headOf(git, dir);
      await commitPaths(git, dir, paths, added, message);
    },
    head: () => headOf(git, dir),
    push: async () => {
      if (upstream) await git.run(["push", "--quiet", "--", upstream.remote, `HEAD:${upstream.merge}`], dir);
    },
    refresh: async () => {
      // Safe: the tree was clean and HEAD not ahead when we started, so the only local commit is ours.
      await fetch();
      await git.run(["reset", "--quiet", "--hard", "FETCH_HEAD"], dir);
    },
    abandon: async () => {
      if ((await headOf(git, dir)) !== base) {
        await git.run(["reset", "--quiet", "--hard", base], dir);
      }
    },
    dispose: () => Promise.resolve(),
  };
}

async function config(options: OpenOptions, dir: string, key: string): Promise<string | undefined> {
  const value = await options.git.run(["config", "--get", key], dir).catch(() => "");
  return value.trim() === "" ? undefined : value.trim();
}
