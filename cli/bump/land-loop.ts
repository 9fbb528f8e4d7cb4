// Lands one edit of the config repo (a bump, a secret set or rm): plan on the branch head, apply, commit,
// push; when the remote moved meanwhile, start again from the new head (re-read, re-check, re-plan) —
// never a textual rebase, never a force. A failure leaves the workspace as it was.
import { reasonOf, RuntimeFailureError } from "../../reconciler/errors.js";
import type { Reporter } from "../../reconciler/report/reporter.js";
import { backoffDelay, sleep } from "../git/backoff.js";
import { GitCommandError } from "../git/client.js";
import { classifyGitFailure } from "../git/push-failure.js";
import type { Workspace } from "../git/workspace.js";
import { applyChanges } from "./apply.js";
import type { FileChange } from "./plan.js";

/** One edit: what it is called in messages, its commit message, and how to plan it on a head. */
export interface RepoEdit<P extends { changes: FileChange[] }> {
  /** Names the edit in errors, e.g. `hello 2-develop`, `secret hello/API_TOKEN`. */
  subject: string;
  branch: string;
  message: string;
  /** How messages name a retry: `{ again: "bump again", changes: "The bump's changes", rerun: "Run the bump again" }`. */
  words: { again: string; changes: string; rerun: string };
  /** Works out the file changes on the checkout's current head (reads only); no changes = nothing to do. */
  plan(dir: string): Promise<P>;
}

export interface Landed<P> {
  /** The plan of the last attempt. */
  plan: P;
  /** The commit that landed (or was made locally); null for a no-op or a dry run. */
  commit: string | null;
  pushed: boolean;
  /** Push attempts made (0 when nothing was pushed). */
  attempts: number;
}

export interface LoopOptions {
  dryRun: boolean;
  maxAttempts: number;
  reporter: Reporter;
}

export async function landWithRetries<P extends { changes: FileChange[] }>(
  workspace: Workspace,
  edit: RepoEdit<P>,
  options: LoopOptions,
): Promise<Landed<P>> {
  /** Files the edit created (on any attempt): a failed edit removes them with its other changes. */
  const created = new Set<string>();
  try {
    return await landLoop(workspace, edit, options, created);
  } catch (error) {
    // Whatever failed after files were written (apply, a pre-commit hook, commit, push, refresh), the workspace
    // goes back to where it was: no half-written files, no unpushed commit.
    if (!options.dryRun) {
      await workspace.abandon([...created]).catch((undoError: unknown) => {
        options.reporter.warn(
          `${workspace.dir}: undoing the failed ${edit.subject} failed too (${reasonOf(undoError)}); check 'git status' there`,
        );
      });
    }
    throw error;
  }
}

async function landLoop<P extends { changes: FileChange[] }>(
  workspace: Workspace,
  edit: RepoEdit<P>,
  options: LoopOptions,
  created: Set<string>,
): Promise<Landed<P>> {
  const { reporter } = options;
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const plan = await edit.plan(workspace.dir);
    const result: Landed<P> = { plan, commit: null, pushed: false, attempts: attempt - 1 };
    if (plan.changes.length === 0 || options.dryRun) return result;
    // Between the refresh and the push as little as possible happens: that window is what concurrent edits race in.
    const added = plan.changes.filter((c) => c.before === undefined).map((c) => c.path);
    for (const file of added) created.add(file);
    const paths = await applyChanges(workspace.dir, plan.changes);
    await workspace.commit(paths, added, edit.message).catch((error: unknown) => {
      throw new RuntimeFailureError(
        `${edit.subject}: commit in ${workspace.dir} failed: ${firstLine(error)}. A git hook ` +
          `(pre-commit, commit-msg) or git's configuration may have refused it; fix that and ${edit.words.again}. ` +
          `${edit.words.changes} were undone. Nothing was committed.`,
        { cause: error },
      );
    });
    if (workspace.pushTarget === undefined) {
      result.commit = await workspace.head();
      return result;
    }
    result.attempts = attempt;
    try {
      reporter.debug(`attempt ${attempt}: planned and committed in ${Date.now() - started} ms; pushing`);
      await workspace.push();
      result.pushed = true;
      result.commit = await workspace.head();
      return result;
    } catch (error) {
      reporter.debug(`push ${attempt} failed after ${Date.now() - started} ms: ${reasonOf(error)}`);
      // A push stopped by --git-timeout is not retried: the bound is on the whole wait, not on each attempt.
      const kind =
        error instanceof GitCommandError && !error.silent ? classifyGitFailure(error.output) : "permanent";
      if (kind === "permanent" || attempt >= options.maxAttempts) {
        throw pushFailure(edit, workspace.pushTarget, attempt, kind, error);
      }
      const delay = backoffDelay(attempt);
      reporter.info(
        kind === "moved"
          ? `push ${attempt}/${options.maxAttempts} rejected: ${edit.branch} moved on the remote; re-applying on its new head in ${delay} ms`
          : `push ${attempt}/${options.maxAttempts} failed (${firstLine(error)}); retrying in ${delay} ms`,
      );
      await sleep(delay);
      const refreshing = Date.now();
      await workspace.refresh();
      reporter.debug(`fetched the new head in ${Date.now() - refreshing} ms`);
    }
  }
}

function pushFailure<P extends { changes: FileChange[] }>(
  edit: RepoEdit<P>,
  target: string,
  attempt: number,
  kind: string,
  error: unknown,
): RuntimeFailureError {
  const subject = `${edit.subject}: push to ${target}`;
  if (kind === "permanent") {
    return new RuntimeFailureError(
      `${subject} failed: ${firstLine(error)}. Check that the repo exists and that git's credentials ` +
        `(ssh agent, credential helper, GIT_SSH_COMMAND) may push to it. Nothing was pushed.`,
      { cause: error },
    );
  }
  return new RuntimeFailureError(
    `${subject} failed after ${attempt} attempt(s): ${kind === "moved" ? "the branch kept moving" : firstLine(error)}. ` +
      `${edit.words.rerun} (it re-applies on the newest head) or raise --max-attempts. Nothing was pushed.`,
    { cause: error, transient: true },
  );
}

function firstLine(error: unknown): string {
  const output =
    error instanceof GitCommandError ? error.output : error instanceof Error ? error.message : String(error);
  const lines = output.split("\n").filter((l) => !l.startsWith("To ") && !/^warning:/.test(l));
  return (lines.find((l) => /error|fatal|rejected/i.test(l)) ?? lines[0] ?? "no output").trim();
}
