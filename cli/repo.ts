// Resolves --repo to a local directory and the environment (branch) being worked on.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { InvalidInputError } from "../reconciler/errors.js";
import type { SysconfigConfig } from "../reconciler/config/schema.js";
import { escapeControls } from "../reconciler/text/escape.js";
import { looksLikeUrl } from "./git/repo-location.js";

/** A URL with its credentials hidden: https://user:TOKEN@host/x → https://***@host/x (ssh://git@ names no secret). */
export function shownUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i, (match, scheme: string, userinfo: string) =>
    /^(ssh|git\+ssh|ssh\+git):/i.test(scheme) && !userinfo.includes(":") ? match : `${scheme}***@`,
  );
}

/** What git treats as a URL: scheme://…, or scp-like host:path (a ':' before any '/') that is not a local path. */
function isGitUrl(repo: string, dir: string): boolean {
  return looksLikeUrl(repo) && (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || !existsSync(dir));
}

/** Git's answer in `dir`, or undefined when `dir` is not inside a git work tree (or git fails). */
function gitOutput(dir: string, args: string[]): Promise<string | undefined> {
  // GIT_DIR and friends (set inside git hooks) would point git at another repo than `dir`'s.
  const env = { ...process.env, GIT_DIR: undefined, GIT_WORK_TREE: undefined };
  // execFile, not simple-git: these run on every plan and validate, and simple-git costs ~0.07 s to load.
  return new Promise((resolve) => {
    execFile("git", args, { cwd: dir, env }, (error, stdout) =>
      resolve(error ? undefined : stdout.replace(/\n$/, "")),
    );
  });
}

/**
 * --repo for every command but bump: a local directory. A git URL is refused (only bump clones), and so is a
 * directory inside a git repo that is not its top level, whose commit, branch and files are the outer repo's.
 * A directory outside any git repo (the baked config in the config image) is accepted as it is.
 */
export async function resolveLocalRepo(
  repo: string | undefined,
  cwd: string,
  command: string,
): Promise<string> {
  if (repo === undefined) return checkTopLevel(cwd, command);
  if (repo === "" || repo.startsWith("-") || /[\p{Cc}]/u.test(repo)) {
    throw new InvalidInputError(
      `--repo ${JSON.stringify(shownUrl(repo))} ${command} failed: not a directory path (it is empty, starts with ` +
        `'-' or holds control characters). Pass the config repo's directory. Nothing was changed.`,
    );
  }
  const dir = path.resolve(cwd, repo);
  if (isGitUrl(repo, dir)) {
    const shown = shownUrl(repo);
    throw new InvalidInputError(
      `--repo ${shown} ${command} failed: it is a git URL, and ${command} works on a local checkout (only ` +
        `bump clones a URL). Clone it first (git clone ${shown} DIR) and pass --repo DIR. Nothing was changed.`,
    );
  }
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // missing: said below
  }
  if (!isDirectory) {
    throw new InvalidInputError(
      `--repo ${dir} ${command} failed: ${existsSync(dir) ? "it is a file, not a directory" : "no such directory"}. ` +
        `Pass the config repo's directory (sysconfig init DIR makes one). Nothing was changed.`,
    );
  }
  return checkTopLevel(dir, command);
}

async function checkTopLevel(dir: string, command: string): Promise<string> {
  // A directory holding .git is the top of its work tree: git's own discovery stops there. No git process
  // then (~0.05 s of a validate); git is asked only about a directory without one.
  if (existsSync(path.join(dir, ".git"))) return dir;
  const prefix = await gitOutput(dir, ["rev-parse", "--show-prefix"]);
  if (prefix === undefined || prefix === "") return dir;
  const top = (await gitOutput(dir, ["rev-parse", "--show-toplevel"])) ?? dir.slice(0, -prefix.length);
  throw new InvalidInputError(
    `--repo ${dir} ${command} failed: ${dir} is not the top of a git repo (it is inside ${top}): pass --repo ` +
      `${top}, or make ${dir} a repo of its own (its commit, branch and files would be ${top}'s). ` +
      `Nothing was changed.`,
  );
}

/**
 * The branch named by .git/HEAD of a plain checkout (`ref: refs/heads/NAME`), read without starting git;
 * undefined for anything else (a linked worktree's .git file, a detached HEAD), which git is asked about.
 */
function headBranch(repoDir: string): string | undefined {
  let head: string;
  try {
    head = readFileSync(path.join(repoDir, ".git", "HEAD"), "utf8");
  } catch {
    return undefined;
  }
  return /^ref: refs\/heads\/([^\s]+)\n?$/.exec(head)?.[1];
}

/** The environment to render for: --environment, else the repo's current branch (a repo without commits has one too). */
export async function resolveEnvironment(
  repoDir: string,
  config: SysconfigConfig,
  explicit: string | undefined,
): Promise<string> {
  const known = Object.keys(config.environments).join(", ");
  let name = explicit;
  if (name === undefined) {
    if (!existsSync(path.join(repoDir, ".git"))) {
      throw new InvalidInputError(
        `${repoDir} is not a git checkout, so the environment cannot be taken from its branch. ` +
          `Pass --environment NAME (one of ${known}).`,
      );
    }
    // symbolic-ref names the branch of a repo without commits too; it fails only on a detached HEAD.
    name =
      headBranch(repoDir) ??
      ((await gitOutput(repoDir, ["symbolic-ref", "--quiet", "--short", "HEAD"])) || undefined);
    if (name === undefined) {
      const commit = (await gitOutput(repoDir, ["rev-parse", "--short", "HEAD"])) ?? "unknown";
      throw new InvalidInputError(
        `${repoDir} is on a detached HEAD (commit ${commit}), so the environment cannot be taken from its ` +
          `branch. Check out an environment's branch (git checkout BRANCH) or pass --environment NAME ` +
          `(one of ${known}).`,
      );
    }
  }
  // hasOwn: 'constructor' or '__proto__' must not be found on Object.prototype.
  if (!Object.hasOwn(config.environments, name)) {
    throw new InvalidInputError(
      `'${escapeControls(name)}' is not an environment of ${config.name}: sysconfig.yaml lists ${known}. ` +
        `Check out one of those branches or pass --environment.`,
    );
  }
  return name;
}
