// The git adapter: simple-git with the operator's own environment (credentials, ssh agent, GIT_SSH_COMMAND),
// argv only (no shell), and every failure wrapped with secrets redacted.
import type { SimpleGit } from "simple-git";
import { RuntimeFailureError } from "../../reconciler/errors.js";
import { gitIdentityEnv } from "./identity.js";
import { operatorGit } from "./operator-git.js";
import { redactSecrets } from "./redact.js";

export interface GitClient {
  /**
   * Runs `git <args>` in `dir`; resolves stdout. Throws GitCommandError. `extra` adds variables for this
   * process only (GIT_INDEX_FILE, and `config` entries passed as GIT_CONFIG_* — never on argv).
   */
  run(args: readonly string[], dir?: string, extra?: ExtraGitEnv): Promise<string>;
}

export interface ExtraGitEnv {
  env?: Record<string, string>;
  /** git config for this process only (`http.<url>.extraHeader`, …): invisible in argv and .git/config. */
  config?: Record<string, string>;
}

/** A failed git command: stderr (redacted) kept for classifying push rejections. */
export class GitCommandError extends RuntimeFailureError {
  readonly output: string;
  constructor(subject: string, output: string, cause: unknown) {
    super(`git ${subject} failed: ${output || "no output"}`, { cause });
    this.output = output;
  }
}

export function createGitClient(
  env: NodeJS.ProcessEnv,
  isTTY: boolean,
  secrets: readonly string[],
): GitClient {
  const gitEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) gitEnv[key] = value;
  Object.assign(gitEnv, gitIdentityEnv(env));
  // A bump in CI must fail, not hang, when credentials are missing; an interactive user may still type them.
  if (gitEnv.GIT_TERMINAL_PROMPT === undefined && !isTTY) gitEnv.GIT_TERMINAL_PROMPT = "0";
  const instances = new Map<string, SimpleGit>();
  const gitAt = (dir: string, extra: ExtraGitEnv | undefined): SimpleGit => {
    if (extra !== undefined) return operatorGit(dir, withExtra(gitEnv, extra));
    let git = instances.get(dir);
    if (!git) {
      git = operatorGit(dir, gitEnv);
      instances.set(dir, git);
    }
    return git;
  };
  return {
    async run(args, dir = process.cwd(), extra) {
      try {
        return await gitAt(dir, extra).raw([...args]);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        const output = redactSecrets(
          text
            .split("\n")
            .filter((line) => line.trim() !== "" && !line.startsWith("hint:"))
            .join("\n"),
          secrets,
        );
        throw new GitCommandError(args[0] ?? "", output, error);
      }
    },
  };
}

/** The environment plus `extra`; config entries go after any GIT_CONFIG_* the operator already set. */
function withExtra(base: Record<string, string>, extra: ExtraGitEnv): Record<string, string> {
  const env = { ...base, ...extra.env };
  const entries = Object.entries(extra.config ?? {});
  if (entries.length === 0) return env;
  const existing = Number(base.GIT_CONFIG_COUNT ?? "0");
  const start = Number.isInteger(existing) && existing > 0 ? existing : 0;
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${start + i}`] = key;
    env[`GIT_CONFIG_VALUE_${start + i}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(start + entries.length);
  return env;
}
