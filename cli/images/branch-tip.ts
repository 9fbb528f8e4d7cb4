// Whether the commit being built is its branch's newest commit on the remote right now: only then may the
// moving tag (IMAGE:develop) be pushed, or a build of an older commit (a stale checkout, a re-run of an old
// CI pipeline) would move it backwards.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { reasonOf } from "../../reconciler/errors.js";
import { DEFAULT_GIT_TIMEOUT_SECONDS, runNetworkGit, withoutProgress } from "../git/network-git.js";
import { redactSecrets } from "../git/redact.js";

const execFileAsync = promisify(execFile);

/**
 * `current`: HEAD is the remote tip (or there is no remote to compare with). `behind`: the remote answered and
 * its tip is another commit, or the remote has no such branch (`tip` undefined). `unknown`: the remote could
 * not be read (no access, unreachable), so nothing is known.
 */
export type BranchTip =
  | { state: "current"; remote: string | undefined }
  | { state: "behind"; remote: string; tip: string | undefined }
  | { state: "unknown"; remote: string; reason: string };

/** The upstream's tip of `branch` as the remote has it now (`git ls-remote`, no fetch, nothing written). */
export async function checkBranchTip(
  repoDir: string,
  branch: string,
  revision: string,
  timeoutSeconds = DEFAULT_GIT_TIMEOUT_SECONDS,
): Promise<BranchTip> {
  const remote =
    (await gitValue(repoDir, ["config", "--get", `branch.${branch}.remote`])) ??
    (await gitValue(repoDir, ["remote", "get-url", "origin"]).then((url) => (url ? "origin" : undefined)));
  if (remote === undefined || remote === ".") return { state: "current", remote: undefined };
  const merge =
    (await gitValue(repoDir, ["config", "--get", `branch.${branch}.merge`])) ?? `refs/heads/${branch}`;
  const shown = `${redactSecrets(remote)} ${merge.replace(/^refs\/heads\//, "")}`;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  // Bounded, and stopped with its ssh/https helper: a remote that accepts and never answers cannot hang the build.
  const result = await runNetworkGit(["ls-remote", "--", remote, merge], {
    cwd: repoDir,
    env: { ...env, GIT_TERMINAL_PROMPT: "0" },
    silenceMs: timeoutSeconds * 1000,
    ownGroup: true,
  });
  if (result.kind === "silent") {
    return {
      state: "unknown",
      remote: shown,
      reason:
        `git ls-remote got no answer from the remote within ${timeoutSeconds} s and was stopped ` +
        `(raise the bound with --git-timeout SECONDS, SYSCONFIG_GIT_TIMEOUT)`,
    };
  }
  if (result.kind === "failed") {
    const error = Object.assign(new Error(`git ls-remote exited with ${result.code}`), {
      stderr: withoutProgress(result.stderr),
    });
    return { state: "unknown", remote: shown, reason: redactSecrets(gitReason(error)) };
  }
  const tip = result.stdout
    .split("\n")
    .find((line) => line.endsWith(`\t${merge}`))
    ?.split("\t")[0];
  return tip === revision ? { state: "current", remote: shown } : { state: "behind", remote: shown, tip };
}

/**
 * git's own words for a failed ls-remote: its fatal:/error: lines (the last line alone is often only
 * "and the repository exists."), else the last line of what it printed.
 */
export function gitReason(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === "string" && stderr.trim() !== "" ? stderr : reasonOf(error);
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const git = lines.filter((l) => /^(fatal|error|remote):/i.test(l));
  if (git.length > 0) return git.join("; ");
  return lines.at(-1) ?? "git ls-remote failed";
}

async function gitValue(repoDir: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync("git", args, { cwd: repoDir });
    return stdout.trim() === "" ? undefined : stdout.trim();
  } catch {
    return undefined;
  }
}
