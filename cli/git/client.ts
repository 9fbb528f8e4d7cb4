// The git adapter: simple-git with the operator's own environment (credentials, ssh agent, GIT_SSH_COMMAND),
// argv only (no shell), and every failure wrapped with secrets redacted.
import type { SimpleGit } from "simple-git";
import { RuntimeFailureError } from "../../reconciler/errors.js";
import { gitIdentityEnv } from "./identity.js";
import { NETWORK_SUBCOMMANDS, runNetworkGit, withoutProgress } from "./network-git.js";
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
  /** True when git was stopped for sending nothing within the --git-timeout bound (never retried). */
  readonly silent: boolean;
  constructor(subject: string, output: string, cause: unknown, silent = false) {
    super(`git ${subject} failed: ${output || "no output"}`, { cause });
    this.output = output;
    this.silent = silent;
  }
}

export interface GitClientOptions {
  /** A network command (clone, fetch, push, ls-remote) that sends nothing for this long is stopped. */
  timeoutSeconds: number;
}

export function createGitClient(
  env: NodeJS.ProcessEnv,
  isTTY: boolean,
  secrets: readonly string[],
  options: GitClientOptions,
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
  const redact = (text: string) =>
    redactSecrets(
      text
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("hint:"))
        .join("\n"),
      secrets,
    );
  return {
    async run(args, dir = process.cwd(), extra) {
      if (NETWORK_SUBCOMMANDS.has(args[0] ?? "")) {
        const result = await runNetworkGit(args, {
          cwd: dir,
          env: extra === undefined ? gitEnv : withExtra(gitEnv, extra),
          silenceMs: options.timeoutSeconds * 1000,
          ownGroup: !isTTY,
        });
        if (result.kind === "done") return result.stdout;
        if (result.kind === "failed") {
          const output = redact(withoutProgress(result.stderr));
          throw new GitCommandError(args[0] ?? "", output, new Error(`git exited with ${result.code}`));
        }
        const said = redact(withoutProgress(result.stderr)).split("\n").join(" ");
        throw new GitCommandError(
          args[0] ?? "",
          `no answer from the remote within ${options.timeoutSeconds} s${said === "" ? "" : ` (git said: ${said})`}; ` +
            `git and its ssh/https helper were stopped. If the remote is only slow, raise the bound with ` +
            `--git-timeout SECONDS (SYSCONFIG_GIT_TIMEOUT)`,
          new Error(`git ${args[0] ?? ""} sent nothing for ${options.timeoutSeconds} s`),
          true,
        );
      }
      try {
        return await gitAt(dir, extra).raw([...args]);
      } catch (error) {
        const output = redact(error instanceof Error ? error.message : String(error));
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
