// sysconfig bump SERVICE TAG: render SERVICE with TAG, commit and push it to the config repo (DESIGN §4).
import { InvalidInputError } from "../../reconciler/errors.js";
import { bumpWithRetries, type BumpResult } from "../bump/bump-loop.js";
import type { BumpRequest } from "../bump/plan.js";
import { redactedError } from "../bump/redacted-error.js";
import { readTemplate } from "../bump/template-file.js";
import { branchOfTag, validateBranch, validateServiceName, validateTag } from "../bump/validate.js";
import { createGitClient } from "../git/client.js";
import { DEFAULT_GIT_TIMEOUT_SECONDS } from "../git/network-git.js";
import { redactSecrets, secretsOf } from "../git/redact.js";
import { locateRepo } from "../git/repo-location.js";
import { openWorkspace } from "../git/workspace.js";
import type { CliIo } from "../io.js";

export interface BumpOptions {
  repo: string;
  service: string;
  tag: string;
  branch?: string;
  template?: string;
  force?: boolean;
  dryRun?: boolean;
  output: "text" | "json";
  maxAttempts: number;
  /** Seconds a clone, fetch or push may go without a word from the remote (default 30). */
  gitTimeout?: number;
  /** Seconds to wait for another bump's lock on the same working checkout (default 120). */
  lockTimeout?: number;
}

export async function runBump(options: BumpOptions, rawIo: CliIo): Promise<void> {
  const secrets = secretsOf(options.repo);
  const redact = (text: string) => redactSecrets(text, secrets);
  const io = redactingIo(rawIo, redact);
  try {
    const result = await bump(options, io, secrets, redact);
    io.out(options.output === "json" ? JSON.stringify(jsonOf(result)) : textOf(result, redact(options.repo)));
  } catch (error) {
    throw redactedError(error, redact);
  }
}

async function bump(
  options: BumpOptions,
  io: CliIo,
  secrets: readonly string[],
  redact: (text: string) => string,
): Promise<BumpResult> {
  validateTag(options.tag);
  validateServiceName(options.service);
  const branch = options.branch ?? branchOfTag(options.tag);
  validateBranch(branch, options.branch === undefined ? `from tag '${options.tag}'` : "--branch");
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new InvalidInputError(
      `--max-attempts bump failed: ${options.maxAttempts} is not a whole number ≥ 1. Nothing was changed.`,
    );
  }
  const request: BumpRequest = {
    service: options.service,
    tag: options.tag,
    branch,
    force: options.force === true,
    template: options.template === undefined ? undefined : await readTemplate(options.template, io.cwd),
  };
  const git = createGitClient(io.env, io.isTTY, secrets, {
    timeoutSeconds: options.gitTimeout ?? DEFAULT_GIT_TIMEOUT_SECONDS,
  });
  const location = await locateRepo(options.repo, io.cwd, async (dir) => {
    const bare = await git.run(["rev-parse", "--is-bare-repository"], dir).catch(() => undefined);
    return bare === undefined ? undefined : bare.trim() === "true";
  });
  const workspace = await openWorkspace(location, {
    branch,
    readOnly: options.dryRun === true,
    git,
    reporter: io.reporter,
    shownUrl: redact(options.repo),
    attempts: options.maxAttempts,
    lockTimeoutSeconds: options.lockTimeout,
    purpose: `bump ${options.service} ${options.tag}`,
  });
  try {
    return await bumpWithRetries(workspace, request, {
      dryRun: options.dryRun === true,
      maxAttempts: options.maxAttempts,
      reporter: io.reporter,
    });
  } finally {
    await workspace.dispose();
  }
}

function redactingIo(io: CliIo, redact: (text: string) => string): CliIo {
  return {
    ...io,
    out: (text) => io.out(redact(text)),
    reporter: {
      info: (message) => io.reporter.info(redact(message)),
      warn: (message) => io.reporter.warn(redact(message)),
      debug: (message) => io.reporter.debug(redact(message)),
    },
  };
}

function jsonOf(result: BumpResult): object {
  const { service, branch, oldTag, newTag, commit, pushed, attempts, changed, files, dryRun } = result;
  return { service, branch, oldTag, newTag, commit, pushed, attempts, changed, files, dryRun };
}

function textOf(result: BumpResult, repo: string): string {
  const what = `${result.service} ${result.oldTag} → ${result.newTag} on ${result.branch}`;
  if (!result.changed)
    return `${result.service} is already at ${result.newTag} on ${result.branch}: nothing to do`;
  if (result.dryRun)
    return `${result.diff}dry run: ${what} would change ${result.files.join(", ")}; nothing committed`;
  const where = result.pushed
    ? `pushed to ${repo} (attempt ${result.attempts})`
    : "committed locally (the branch has no upstream to push to)";
  return `${result.diff}${what}: commit ${result.commit?.slice(0, 12)} ${where}`;
}
