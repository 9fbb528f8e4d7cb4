// The bump itself: plan on the branch head, apply, commit, push; when the remote moved meanwhile, start
// again from the new head (re-read, re-check monotonicity, re-render) — never a textual rebase, never a force.
import { reasonOf, RuntimeFailureError } from "../../reconciler/errors.js";
import type { Reporter } from "../../reconciler/report/reporter.js";
import { backoffDelay, sleep } from "../git/backoff.js";
import { GitCommandError } from "../git/client.js";
import { classifyGitFailure } from "../git/push-failure.js";
import type { Workspace } from "../git/workspace.js";
import { applyChanges } from "./apply.js";
import { commitMessage } from "./commit-message.js";
import { unifiedDiff } from "./diff.js";
import { planBump, type BumpRequest } from "./plan.js";

export interface BumpResult {
  service: string;
  branch: string;
  oldTag: string;
  newTag: string;
  /** The commit that landed (or was made locally); null for a no-op or a dry run. */
  commit: string | null;
  pushed: boolean;
  /** Push attempts made (0 when nothing was pushed). */
  attempts: number;
  changed: boolean;
  files: string[];
  dryRun: boolean;
  /** Unified diff of every changed file (not part of the JSON output). */
  diff: string;
}

export interface LoopOptions {
  dryRun: boolean;
  maxAttempts: number;
  reporter: Reporter;
}

export async function bumpWithRetries(
  workspace: Workspace,
  request: BumpRequest,
  options: LoopOptions,
): Promise<BumpResult> {
  /** Files the bump created (on any attempt): a failed bump removes them with its other changes. */
  const created = new Set<string>();
  try {
    return await bumpLoop(workspace, request, options, created);
  } catch (error) {
    // Whatever failed after files were written (apply, a pre-commit hook, commit, push, refresh), the workspace
    // goes back to where it was: no half-written files, no unpushed commit.
    if (!options.dryRun) {
      await workspace.abandon([...created]).catch((undoError: unknown) => {
        options.reporter.warn(
          `${workspace.dir}: undoing the failed bump failed too (${reasonOf(undoError)}); check 'git status' there`,
        );
      });
    }
    throw error;
  }
}

async function bumpLoop(
  workspace: Workspace,
  request: BumpRequest,
  options: LoopOptions,
  created: Set<string>,
): Promise<BumpResult> {
  const { reporter } = options;
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const plan = await planBump(workspace.dir, request);
    const result: BumpResult = {
      service: request.service,
      branch: request.branch,
      oldTag: plan.oldTag,
      newTag: request.tag,
      commit: null,
      pushed: false,
      attempts: attempt - 1,
      changed: plan.changes.length > 0,
      files: plan.changes.map((c) => c.path),
      dryRun: options.dryRun,
      diff: unifiedDiff(plan.changes),
    };
    if (!result.changed || options.dryRun) return result;
    // Between the refresh and the push as little as possible happens: that window is what concurrent bumps race in.
    const added = plan.changes.filter((c) => c.before === undefined).map((c) => c.path);
    for (const file of added) created.add(file);
    const paths = await applyChanges(workspace.dir, plan.changes);
    await workspace
      .commit(paths, added, commitMessage(request.service, request.tag))
      .catch((error: unknown) => {
        throw new RuntimeFailureError(
          `${request.service} ${request.tag}: commit in ${workspace.dir} failed: ${firstLine(error)}. A git hook ` +
            `(pre-commit, commit-msg) or git's configuration may have refused it; fix that and bump again. ` +
            `The bump's changes were undone. Nothing was committed.`,
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
        throw pushFailure(request, workspace.pushTarget, attempt, kind, error);
      }
      const delay = backoffDelay(attempt);
      reporter.info(
        kind === "moved"
          ? `push ${attempt}/${options.maxAttempts} rejected: ${request.branch} moved on the remote; re-applying on its new head in ${delay} ms`
          : `push ${attempt}/${options.maxAttempts} failed (${firstLine(error)}); retrying in ${delay} ms`,
      );
      await sleep(delay);
      const refreshing = Date.now();
      await workspace.refresh();
      reporter.debug(`fetched the new head in ${Date.now() - refreshing} ms`);
    }
  }
}

function pushFailure(
  request: BumpRequest,
  target: string,
  attempt: number,
  kind: string,
  error: unknown,
): RuntimeFailureError {
  const subject = `${request.service} ${request.tag}: push to ${target}`;
  if (kind === "permanent") {
    return new RuntimeFailureError(
      `${subject} failed: ${firstLine(error)}. Check that the repo exists and that git's credentials ` +
        `(ssh agent, credential helper, GIT_SSH_COMMAND) may push to it. Nothing was pushed.`,
      { cause: error },
    );
  }
  return new RuntimeFailureError(
    `${subject} failed after ${attempt} attempt(s): ${kind === "moved" ? "the branch kept moving" : firstLine(error)}. ` +
      `Run the bump again (it re-applies on the newest head) or raise --max-attempts. Nothing was pushed.`,
    { cause: error, transient: true },
  );
}

function firstLine(error: unknown): string {
  const output =
    error instanceof GitCommandError ? error.output : error instanceof Error ? error.message : String(error);
  const lines = output.split("\n").filter((l) => !l.startsWith("To ") && !/^warning:/.test(l));
  return (lines.find((l) => /error|fatal|rejected/i.test(l)) ?? lines[0] ?? "no output").trim();
}
