// What both bump workspaces share (a temporary clone, the operator's checkout): the Workspace
// interface, committing, HEAD, branch hints and the retry of transient network failures.
import { InvalidInputError } from "../../reconciler/errors.js";
import { backoffDelay, sleep } from "./backoff.js";
import { GitCommandError } from "./client.js";
import { classifyGitFailure } from "./push-failure.js";
import type { Reporter } from "../../reconciler/report/reporter.js";
import type { GitClient } from "./client.js";

export interface Workspace {
  dir: string;
  branch: string;
  /** Where commits go, for messages (redacted); undefined when there is nowhere to push. */
  pushTarget: string | undefined;
  /** Commits `paths` (of which `added` are new files). */
  commit(paths: readonly string[], added: readonly string[], message: string): Promise<void>;
  /** The id of the checked-out commit. */
  head(): Promise<string>;
  /** Pushes HEAD to the branch (never forced). Throws GitCommandError; classify with classifyGitFailure. */
  push(): Promise<void>;
  /** Fetches the branch and resets the workspace to the remote head (drops our unpushed commit). */
  refresh(): Promise<void>;
  /**
   * Undoes everything of a failed bump — unpushed commit, staged and written files, and the files it
   * `created` — so it leaves nothing half-done.
   */
  abandon(created: readonly string[]): Promise<void>;
  dispose(): Promise<void>;
}

export interface OpenOptions {
  branch: string;
  /** Dry run: do not fast-forward a working checkout. */
  readOnly: boolean;
  git: GitClient;
  reporter: Reporter;
  /** The URL as it may be shown (credentials redacted). */
  shownUrl: string;
  attempts: number;
  /** A working checkout: how long to wait for another bump's lock on it (default 120 s). */
  lockTimeoutSeconds?: number;
  /** What holds the checkout's lock, shown to a bump waiting for it: "bump web 58-develop". */
  purpose?: string;
}

/** Commits the given paths in `dir` (shared by both workspaces); new files are staged first. */
export async function commitPaths(
  git: GitClient,
  dir: string,
  paths: readonly string[],
  added: readonly string[],
  message: string,
): Promise<void> {
  if (added.length > 0) await git.run(["add", "--", ...added], dir);
  await git.run(["commit", "--quiet", "-m", message, "--", ...paths], dir);
}

/** The id of HEAD in `dir`. */
export async function headOf(git: GitClient, dir: string): Promise<string> {
  return (await git.run(["rev-parse", "HEAD"], dir)).trim();
}

/** The remote's branch list, for the hint when a branch does not exist. */
export async function remoteBranches(run: GitClient["run"], remote: string): Promise<string[]> {
  const out = await run(["ls-remote", "--heads", "--", remote]);
  return out
    .split("\n")
    .map((line) => line.split("\t")[1]?.replace(/^refs\/heads\//, ""))
    .filter((name): name is string => name !== undefined && name !== "");
}

export function missingBranchError(
  branch: string,
  where: string,
  known: readonly string[],
): InvalidInputError {
  return new InvalidInputError(
    `branch '${branch}' bump failed: ${where} has no branch '${branch}' (it has ${known.join(", ") || "no branches"}). ` +
      `The branch is the tag's part after the first '-' (58-develop → develop); bump a tag for an existing ` +
      `environment, or pass --branch ENV. Nothing was changed.`,
  );
}

/** Retries a network operation on transient failures (connection reset, 5xx), a few times with backoff. */
export async function withTransientRetry<T>(
  attempts: number,
  reporter: OpenOptions["reporter"],
  operation: () => Promise<T>,
): Promise<T> {
  const limit = Math.max(1, Math.min(3, attempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (
        !(error instanceof GitCommandError) ||
        attempt >= limit ||
        error.silent ||
        classifyGitFailure(error.output) !== "transient"
      ) {
        throw error;
      }
      const delay = backoffDelay(attempt + 2);
      reporter.warn(`${error.message.split("\n")[0]}; retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
}
