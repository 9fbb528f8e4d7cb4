// The bump on the shared edit loop (land-loop.ts): plan on the branch head (re-read, re-check
// monotonicity, re-render), commit, push, and start again from the new head when the remote moved.
import type { Workspace } from "../git/workspace.js";
import { commitMessage } from "./commit-message.js";
import { unifiedDiff } from "./diff.js";
import { landWithRetries, type LoopOptions } from "./land-loop.js";
import { planBump, type BumpRequest } from "./plan.js";

export type { LoopOptions } from "./land-loop.js";

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

export async function bumpWithRetries(
  workspace: Workspace,
  request: BumpRequest,
  options: LoopOptions,
): Promise<BumpResult> {
  const landed = await landWithRetries(
    workspace,
    {
      subject: `${request.service} ${request.tag}`,
      branch: request.branch,
      message: commitMessage(request.service, request.tag),
      words: { again: "bump again", changes: "The bump's changes", rerun: "Run the bump again" },
      plan: (dir) => planBump(dir, request),
    },
    options,
  );
  const { plan } = landed;
  return {
    service: request.service,
    branch: request.branch,
    oldTag: plan.oldTag,
    newTag: request.tag,
    commit: landed.commit,
    pushed: landed.pushed,
    attempts: landed.attempts,
    changed: plan.changes.length > 0,
    files: plan.changes.map((c) => c.path),
    dryRun: options.dryRun,
    diff: unifiedDiff(plan.changes),
  };
}
