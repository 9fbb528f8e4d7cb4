// Runs the git commands that talk to a remote (clone, fetch, push, ls-remote) with a bound on silence, and
// stops git together with its transport child (ssh, git-remote-https) when the bound passes or the process
// is interrupted. simple-git cannot do this: it kills git alone, and an ssh child waiting on a server that
// accepted the connection and never answers kept its pipes, and so the process, open for ever.
import { spawn, type ChildProcess } from "node:child_process";
import { onInterruptStop } from "./interrupt.js";

/** Default bound: a remote that sends nothing (no answer, no progress) for this long is given up on. */
export const DEFAULT_GIT_TIMEOUT_SECONDS = 30;
/** How long a stopped git gets to end after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2_000;

/** Subcommands that reach the network; the others stay with simple-git. */
export const NETWORK_SUBCOMMANDS = new Set(["clone", "fetch", "push", "ls-remote"]);
/** Those that print progress with --progress: their silence means a stalled transfer, not a long one. */
const PROGRESS_SUBCOMMANDS = new Set(["clone", "fetch", "push"]);

export interface NetworkGitOptions {
  cwd: string;
  env: Record<string, string>;
  /** Give up after this long without output (progress counts as output). */
  silenceMs: number;
  /**
   * In its own process group (false only in an interactive terminal, where ssh must be able to ask for a
   * passphrase on the terminal: Ctrl-C reaches git and ssh there anyway).
   */
  ownGroup: boolean;
}

export type NetworkGitResult =
  | { kind: "done"; stdout: string; stderr: string }
  | { kind: "failed"; code: number | null; stdout: string; stderr: string }
  | { kind: "silent"; stderr: string };

/** Runs `git args`; resolves how it ended (never rejects for git's own failure). */
export function runNetworkGit(
  args: readonly string[],
  options: NetworkGitOptions,
): Promise<NetworkGitResult> {
  const argv = withProgress(args);
  const child = spawn("git", argv, {
    cwd: options.cwd,
    env: options.env,
    detached: options.ownGroup,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let silent = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      silent = true;
      void stopProcess(entry);
    }, options.silenceMs);
  };
  let endedResolve: () => void = () => undefined;
  const entry = {
    child,
    ownGroup: options.ownGroup,
    ended: new Promise<void>((resolve) => (endedResolve = resolve)),
  };
  // Stopped on SIGINT/SIGTERM before temporary clones are removed.
  const unregister = onInterruptStop(() => stopProcess(entry));
  arm();
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    arm();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    arm();
  });
  return new Promise<NetworkGitResult>((resolve) => {
    let spawnError: Error | undefined;
    child.on("error", (error) => {
      spawnError = error;
    });
    child.on("exit", () => {
      clearTimeout(timer);
      endedResolve();
      // A grandchild that outlived git (ssh in a terminal session) must not keep our pipes, and the process, open.
      const drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1_000);
      drain.unref();
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      unregister();
      endedResolve();
      if (silent) resolve({ kind: "silent", stderr });
      else if (spawnError !== undefined)
        resolve({ kind: "failed", code, stdout, stderr: `cannot run git: ${spawnError.message}` });
      else if (code === 0) resolve({ kind: "done", stdout, stderr });
      else resolve({ kind: "failed", code, stdout, stderr });
    });
  });
}

/** Stops git and (in its own group) its helpers: SIGTERM, then SIGKILL after a grace; resolves when ended. */
async function stopProcess(entry: { child: ChildProcess; ended: Promise<void>; ownGroup: boolean }) {
  const signal = (name: NodeJS.Signals) => {
    const pid = entry.child.pid;
    if (pid === undefined) return;
    try {
      // A negative pid signals the whole group: git and the ssh or https helper it started.
      process.kill(entry.ownGroup ? -pid : pid, name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  await Promise.race([entry.ended, delay(KILL_GRACE_MS)]);
  // Whatever of the group is left: a helper that ignored SIGTERM, or one that outlived git.
  signal("SIGKILL");
  await Promise.race([entry.ended, delay(1_000)]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Adds --progress after the subcommand, so a transfer that is alive keeps talking. */
function withProgress(args: readonly string[]): string[] {
  const [sub, ...rest] = args;
  if (sub === undefined || !PROGRESS_SUBCOMMANDS.has(sub)) return [...args];
  return [sub, "--progress", ...rest];
}

/** git's stderr without progress meters (carriage-return updates and "Receiving objects: …" lines). */
export function withoutProgress(stderr: string): string {
  return stderr
    .split("\n")
    .map(
      (line) =>
        line
          .split("\r")
          .filter((part) => part.trim() !== "")
          .at(-1) ?? "",
    )
    .filter(
      (line) =>
        line.trim() !== "" &&
        !/^(remote: )?(Enumerating|Counting|Compressing|Receiving|Resolving|Writing|Total|Updating files|Delta compression|Unpacking|Finding sources|Checking connectivity)\b/.test(
          line.trim(),
        ),
    )
    .join("\n");
}
