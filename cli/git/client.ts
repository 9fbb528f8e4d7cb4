// The git adapter: simple-git with the operator's own environment (credentials, ssh agent, GIT_SSH_COMMAND),
// argv only (no shell), and every failure wrapped with secrets redacted.
import type { SimpleGit } from "simple-git";
import { RuntimeFailureError } from "../../reconciler/errors.js";
import { gitIdentityEnv } from "./identity.js";
import { operatorGit } from "./operator-git.js";
import { redactSecrets } from "./redact.js";

export interface GitClient {
  /** Runs `git <args>` in `dir`; resolves stdout. Throws GitCommandError. */
  run(args: readonly string[], dir?: string): Promise<string>;
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
  const gitAt = (dir: string): SimpleGit => {
    let git = instances.get(dir);
    if (!git) {
      git = operatorGit(dir, gitEnv);
      instances.set(dir, git);
    }
    return git;
  };
  return {
    async run(args, dir = process.cwd()) {
      try {
        return await gitAt(dir).raw([...args]);
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
