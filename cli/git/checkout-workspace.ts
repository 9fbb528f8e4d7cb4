// Workspace for a local working checkout (--repo . in a CI job that checked the config repo out).
// The bump commits there, on the checked-out branch, so the operator sees it in their own clone; when the
// branch tracks an upstream it is first fast-forwarded to it and the commit is pushed there (never forced).
// A failed bump puts the checkout back exactly as it was (it was clean, so that loses nothing of the operator's).
import { mkdir, realpath } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../reconciler/errors.js";
import { acquireCheckoutLock, DEFAULT_CHECKOUT_LOCK_SECONDS, type CheckoutLock } from "./checkout-lock.js";
import { createTempDir } from "./temp-dir.js";
import {
  commitPaths,
  headOf,
  withTransientRetry,
  type OpenOptions,
  type Workspace,
} from "./workspace-common.js";

/** Where a bump writes: untracked files there would be overwritten, or removed when a failed bump is undone. */
const BUMP_PATHS = ["sysconfig.yaml", "rendered", "templates"];

export async function openCheckout(dir: string, options: OpenOptions): Promise<Workspace> {
  // Everything from the dirty check to the commit happens under the checkout's lock: two bumps in one
  // checkout would otherwise both read the same sysconfig.yaml and the second commit would drop the first tag.
  const lock = await lockCheckout(dir, options);
  try {
    const workspace = await openLocked(dir, options);
    return {
      ...workspace,
      dispose: async () => {
        try {
          await workspace.dispose();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function lockCheckout(dir: string, options: OpenOptions): Promise<CheckoutLock> {
  const gitDir = (await options.git.run(["rev-parse", "--absolute-git-dir"], dir)).trim();
  return acquireCheckoutLock({
    gitDir,
    purpose: options.purpose ?? "bump",
    command: "bump",
    timeoutMs: (options.lockTimeoutSeconds ?? DEFAULT_CHECKOUT_LOCK_SECONDS) * 1000,
    onWait: (holder) => options.reporter.info(`${dir}: waiting for the checkout's lock, held by ${holder}`),
  });
}

async function openLocked(dir: string, options: OpenOptions): Promise<Workspace> {
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
  await refuseDirty(options, dir);
  if (
    (await git.run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], dir).catch(() => "")).trim() === ""
  ) {
    throw new InvalidInputError(
      `--repo ${dir} bump failed: '${branch}' has no commit yet, and a bump reads the service's current tag ` +
        `from the branch's last commit. Commit sysconfig.yaml and rendered/ first (sysconfig init DIR makes a ` +
        `repo with its first commit). Nothing was changed.`,
    );
  }
  const original = await headOf(git, dir);
  const remote = await config(options, dir, `branch.${branch}.remote`);
  const merge = await config(options, dir, `branch.${branch}.merge`);
  const upstream =
    remote !== undefined && remote !== "." && merge !== undefined ? { remote, merge } : undefined;
  const upstreamName = upstream && `${upstream.remote}/${upstream.merge.replace(/^refs\/heads\//, "")}`;
  /** Fetches the upstream branch; resolves its tip (undefined without an upstream). */
  const fetch = async (): Promise<string | undefined> => {
    if (!upstream) return undefined;
    await withTransientRetry(options.attempts, reporter, () =>
      git.run(["fetch", "--quiet", "--no-tags", "--", upstream.remote, upstream.merge], dir),
    );
    return (await git.run(["rev-parse", "--verify", "FETCH_HEAD^{commit}"], dir)).trim();
  };
  // What the checkout last knew of its upstream, read before the fetch moves it: tells a rewritten upstream apart.
  const tracking =
    upstream && `refs/remotes/${upstream.remote}/${upstream.merge.replace(/^refs\/heads\//, "")}`;
  const known = tracking === undefined ? [] : await knownTips(options, dir, tracking);
  const tip = await fetch();
  if (tip !== undefined) {
    const ahead = Number((await git.run(["rev-list", "--count", `${tip}..HEAD`], dir)).trim());
    if (ahead > 0) {
      const behind = Number((await git.run(["rev-list", "--count", `HEAD..${tip}`], dir)).trim());
      throw await notOnUpstream(options, dir, { ahead, behind, known, upstreamName: upstreamName ?? "" });
    }
  }
  if (options.readOnly) return openSnapshot(dir, options, tip, upstreamName);
  if (tip !== undefined) {
    await git.run(["merge", "--quiet", "--ff-only", tip], dir);
  } else {
    reporter.info(`${dir}: '${branch}' has no upstream; the bump is committed locally and not pushed`);
  }
  return {
    dir,
    branch,
    pushTarget: upstream ? `${upstream.remote} ${upstream.merge.replace(/^refs\/heads\//, "")}` : undefined,
    commit: (paths, added, message) => commitPaths(git, dir, paths, added, message),
    head: () => headOf(git, dir),
    push: async () => {
      if (upstream) await git.run(["push", "--quiet", "--", upstream.remote, `HEAD:${upstream.merge}`], dir);
    },
    refresh: async () => {
      // Safe: the tree was clean and HEAD not ahead when we started, so the only local commit is ours.
      const newTip = await fetch();
      if (newTip !== undefined) await git.run(["reset", "--quiet", "--hard", newTip], dir);
    },
    abandon: async (created) => {
      // Safe for the same reason; the files the bump created are untracked after the reset: remove just those.
      await git.run(["reset", "--quiet", "--hard", original], dir);
      if (created.length > 0) await git.run(["clean", "--quiet", "--force", "--", ...created], dir);
    },
    dispose: () => Promise.resolve(),
  };
}

/** Commits the remote-tracking ref pointed to lately (its reflog, newest first, and its current value). */
async function knownTips(options: OpenOptions, dir: string, ref: string): Promise<string[]> {
  const out = await options.git
    .run(["log", "--walk-reflogs", "--format=%H", "--max-count=20", ref, "--"], dir)
    .catch(() => "");
  const current = await options.git.run(["rev-parse", "--verify", "--quiet", ref], dir).catch(() => "");
  return [...new Set([current.trim(), ...out.split("\n").map((l) => l.trim())].filter((l) => l !== ""))];
}

/**
 * The refusal when HEAD has commits the upstream lacks. When the upstream once held HEAD and no longer does,
 * it was rewritten (a force-push): "push or drop them" would be wrong advice, so the message says what happened.
 */
async function notOnUpstream(
  options: OpenOptions,
  dir: string,
  facts: { ahead: number; behind: number; known: string[]; upstreamName: string },
): Promise<InvalidInputError> {
  const { branch, git } = options;
  const { ahead, behind, upstreamName } = facts;
  let published = false;
  for (const commit of facts.known) {
    const contained = await git
      .run(["merge-base", "--is-ancestor", "HEAD", commit], dir)
      .then(() => true)
      .catch(() => false);
    if (contained) {
      published = true;
      break;
    }
  }
  if (published && behind > 0) {
    return new InvalidInputError(
      `--repo ${dir} bump failed: '${branch}' diverged from a rewritten upstream (force-push?): ${upstreamName} ` +
        `no longer holds ${ahead} commit(s) that it held before and the checkout still has, and holds ${behind} ` +
        `the checkout lacks. If the rewrite was deliberate, align the checkout with it: 'git reset --hard ` +
        `${upstreamName}' (the dropped commits stay reachable through 'git reflog'), then bump again. If it was ` +
        `not, restore the upstream ('git push --force-with-lease' of the old tip, with care). Nothing was changed.`,
    );
  }
  if (behind > 0) {
    return new InvalidInputError(
      `--repo ${dir} bump failed: '${branch}' diverged from its upstream ${upstreamName}: ${ahead} local ` +
        `commit(s) are not on it and ${behind} of its commit(s) are not here. A bump pushes only its own commit: ` +
        `rebase or drop the local commits ('git pull --rebase' or 'git reset --hard ${upstreamName}'), then bump ` +
        `again. Nothing was changed.`,
    );
  }
  return new InvalidInputError(
    `--repo ${dir} bump failed: '${branch}' has ${ahead} commit(s) not on its upstream ${upstreamName}; ` +
      `a bump pushes only its own commit. Push or drop them first. Nothing was changed.`,
  );
}

/** Refuses uncommitted changes to tracked files, and untracked files where a bump writes. */
async function refuseDirty(options: OpenOptions, dir: string): Promise<void> {
  const { git } = options;
  const tracked = (await git.run(["status", "--porcelain", "--untracked-files=no"], dir)).trim();
  const untracked = (
    await git.run(["status", "--porcelain", "--untracked-files=all", "--", ...BUMP_PATHS], dir)
  )
    .split("\n")
    .filter((line) => line.startsWith("??"));
  if (tracked === "" && untracked.length === 0) return;
  const what =
    tracked !== ""
      ? `uncommitted changes (${tracked.split("\n").length} file(s))`
      : `untracked files where a bump writes (${untracked.map((l) => l.slice(3)).join(", ")})`;
  throw new InvalidInputError(
    `--repo ${dir} bump failed: the checkout has ${what}; a bump commits only its own change and undoes it ` +
      `completely if it fails. Commit, stash or remove them first. Nothing was changed.`,
  );
}

/**
 * A dry run in a checkout: plans against the upstream's tip (what a real bump would commit on), read into a
 * temporary directory through a private index, so the checkout, its index and its HEAD stay untouched.
 */
async function openSnapshot(
  dir: string,
  options: OpenOptions,
  tip: string | undefined,
  upstreamName: string | undefined,
): Promise<Workspace> {
  const { git, branch, reporter } = options;
  const head = await headOf(git, dir);
  const readOnlyWorkspace = (at: string, dispose: () => Promise<void>): Workspace => ({
    dir: at,
    branch,
    pushTarget: undefined,
    commit: () => Promise.reject(new Error("a dry run commits nothing")),
    head: () => Promise.resolve(tip ?? head),
    push: () => Promise.resolve(),
    refresh: () => Promise.resolve(),
    abandon: () => Promise.resolve(),
    dispose,
  });
  if (tip === undefined) {
    reporter.info(`${dir}: '${branch}' has no upstream; the dry run plans against the checkout's HEAD`);
    return readOnlyWorkspace(dir, () => Promise.resolve());
  }
  if (tip === head) return readOnlyWorkspace(dir, () => Promise.resolve());
  reporter.info(
    `${dir}: the dry run plans against ${upstreamName} (${tip.slice(0, 12)}), which is ahead of the checkout's ` +
      `HEAD (${head.slice(0, 12)}); the checkout is left as it is`,
  );
  const temp = await createTempDir("sysconfig-bump-dry-");
  try {
    const snapshot = path.join(temp.dir, "repo");
    await mkdir(snapshot);
    const extra = { env: { GIT_INDEX_FILE: path.join(temp.dir, "index") } };
    await git.run(["read-tree", tip], dir, extra);
    await git.run(["checkout-index", "--all", `--prefix=${snapshot}${path.sep}`], dir, extra);
    return readOnlyWorkspace(snapshot, () => temp.dispose());
  } catch (error) {
    await temp.dispose();
    throw error;
  }
}

async function config(options: OpenOptions, dir: string, key: string): Promise<string | undefined> {
  const value = await options.git.run(["config", "--get", key], dir).catch(() => "");
  return value.trim() === "" ? undefined : value.trim();
}
