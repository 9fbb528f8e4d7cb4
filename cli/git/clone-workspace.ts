// Workspace for a remote (any git URL or a bare repo path): a single-branch clone in a temp dir,
// removed when done. Pushes go back to origin; a rejected push is followed by refresh() and a re-apply.
import path from "node:path";
import { RuntimeFailureError } from "../../reconciler/errors.js";
import { GitCommandError } from "./client.js";
import { classifyGitFailure } from "./push-failure.js";
import type { RepoLocation } from "./repo-location.js";
import { createTempDir } from "./temp-dir.js";
import { assertGitTakesUrlCredentials, splitCredentials } from "./url-credentials.js";
import {
  commitPaths,
  headOf,
  missingBranchError,
  remoteBranches,
  type OpenOptions,
  type Workspace,
  withTransientRetry,
} from "./workspace-common.js";

export async function openClone(
  location: Extract<RepoLocation, { kind: "remote" }>,
  options: OpenOptions,
): Promise<Workspace> {
  const { git, branch, reporter } = options;
  // Every git process that talks to the remote gets the URL's credentials from its environment only.
  const { url, extra } = splitCredentials(location.url);
  if (extra !== undefined) await assertGitTakesUrlCredentials(git, options.shownUrl);
  const temp = await createTempDir("sysconfig-bump-");
  const dir = path.join(temp.dir, "repo");
  // Shallow where it saves a network transfer; a local path clones by hard links anyway.
  const shallow = location.local ? [] : ["--depth", "1"];
  const remoteRef = `refs/remotes/origin/${branch}`;
  const run = (args: readonly string[], at?: string) => git.run(args, at, extra);
  try {
    reporter.info(`cloning ${options.shownUrl} (branch ${branch})`);
    await withTransientRetry(options.attempts, reporter, () =>
      run([
        "clone",
        "--quiet",
        "--no-tags",
        "--single-branch",
        "--branch",
        branch,
        ...shallow,
        "--",
        url,
        dir,
      ]),
    );
  } catch (error) {
    await temp.dispose();
    if (error instanceof GitCommandError && /Remote branch .* not found/.test(error.output)) {
      throw missingBranchError(branch, options.shownUrl, await remoteBranches(run, url));
    }
    if (error instanceof GitCommandError) {
      // The URL's credentials go as a header: when the server refuses them, git asks for a username instead.
      const refused =
        extra !== undefined &&
        /could not read (Username|Password)|Authentication failed|\b401\b/.test(error.output);
      const reason = refused
        ? "Authentication failed: the server refused the credentials in the URL"
        : error.output
            .split("\n")
            .filter((l) => !l.startsWith("warning:"))
            .join(" ");
      throw new RuntimeFailureError(
        `config repo ${options.shownUrl} clone failed: ${reason}. ` +
          `Check the URL and that git's own credentials (ssh agent, credential helper, GIT_SSH_COMMAND) can read it. ` +
          `Nothing was changed.`,
        { cause: error, transient: !error.silent && classifyGitFailure(error.output) === "transient" },
      );
    }
    throw error;
  }
  return {
    dir,
    branch,
    pushTarget: `${options.shownUrl} ${branch}`,
    commit: (paths, added, message) => commitPaths(git, dir, paths, added, message),
    head: () => headOf(git, dir),
    push: async () => {
      await run(["push", "--quiet", "--", "origin", `HEAD:refs/heads/${branch}`], dir);
    },
    refresh: async () => {
      await withTransientRetry(options.attempts, reporter, () =>
        run(
          ["fetch", "--quiet", "--no-tags", ...shallow, "--", "origin", `+refs/heads/${branch}:${remoteRef}`],
          dir,
        ),
      );
      await git.run(["reset", "--quiet", "--hard", remoteRef], dir);
    },
    // The temp clone is removed by dispose(); nothing of ours is left anywhere else.
    abandon: () => Promise.resolve(),
    dispose: () => temp.dispose(),
  };
}
