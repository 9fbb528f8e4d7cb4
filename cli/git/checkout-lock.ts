// One writer at a time in a working checkout: every command that writes there (bump, secret set/rm/reencrypt,
// render, init while it scaffolds) and build's reading of the tree take `<git dir>/sysconfig.lock`, created
// exclusively as git creates index.lock. Without it, three bumps started
// at once in one checkout each read the same sysconfig.yaml and the last commit dropped the others' tags.
// A waiter polls with jitter up to a bound, then gives up with exit 4 naming the holder. A lock whose holder
// died (kill -9) is never broken automatically, as git never breaks index.lock: the message says how to check.
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { open, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { reasonOf, RuntimeFailureError, SafetyRefusalError } from "../../reconciler/errors.js";
import { escapeControls } from "../../reconciler/text/escape.js";
import { fsCode } from "../../reconciler/repo-paths.js";
import { sleep } from "./backoff.js";
import { onInterruptCleanup } from "./interrupt.js";

export const CHECKOUT_LOCK_FILE = "sysconfig.lock";

/** How long a bump waits for another bump in the same checkout by default (--lock-timeout). */
export const DEFAULT_CHECKOUT_LOCK_SECONDS = 120;

export interface CheckoutLock {
  /** The lock file's path. */
  file: string;
  release(): Promise<void>;
}

export interface LockRequest {
  /** The checkout's git directory (`git rev-parse --git-dir`, absolute). */
  gitDir: string;
  /** What takes the lock, for the holder line: "bump web 58-develop". */
  purpose: string;
  /** Give up after this long (0: do not wait). */
  timeoutMs: number;
  /** The command, for the refusal: "bump", "build". */
  command: string;
  /** Called once when the lock is busy and the caller starts waiting. */
  onWait?: (holder: string) => void;
}

interface Holder {
  pid: number;
  host: string;
  purpose: string;
  since: string;
}

/** Takes the checkout's lock, waiting up to the bound; SafetyRefusalError (exit 4) when it stays held. */
export async function acquireCheckoutLock(request: LockRequest): Promise<CheckoutLock> {
  const file = path.join(request.gitDir, CHECKOUT_LOCK_FILE);
  const deadline = Date.now() + request.timeoutMs;
  const me: Holder = {
    pid: process.pid,
    host: os.hostname(),
    purpose: request.purpose,
    since: new Date().toISOString(),
  };
  let waited = false;
  for (let round = 1; ; round++) {
    if (await tryCreate(file, me)) {
      // Removed on SIGINT/SIGTERM too, so an interrupted bump does not block the next one.
      const unregister = onInterruptCleanup(() => rmSync(file, { force: true }));
      return {
        file,
        async release() {
          await rm(file, { force: true });
          unregister();
        },
      };
    }
    if (!waited) {
      waited = true;
      request.onWait?.(describe(await readHolder(file)));
    }
    if (Date.now() >= deadline) throw busy(request, file, await readHolder(file));
    // Jittered polling: bumps in one checkout take about a second each; waiters must not move in lockstep.
    const pause = Math.min(50 * 2 ** Math.min(round, 4), 800) * (0.5 + Math.random());
    await sleep(Math.max(1, Math.min(pause, deadline - Date.now())));
  }
}

/**
 * Takes the lock of the checkout `dir` is the top of; undefined when `dir` is not in a git checkout (no bump
 * can run there, so there is nobody to keep apart).
 */
export async function lockCheckoutAt(
  dir: string,
  request: Omit<LockRequest, "gitDir">,
): Promise<CheckoutLock | undefined> {
  // GIT_DIR (set in hooks) would point at another repository than the one in `dir`.
  const env = { ...process.env, GIT_DIR: undefined, GIT_WORK_TREE: undefined };
  let gitDir: string;
  try {
    gitDir = (
      await promisify(execFile)("git", ["rev-parse", "--absolute-git-dir"], { cwd: dir, env })
    ).stdout.trim();
  } catch {
    return undefined;
  }
  return acquireCheckoutLock({ ...request, gitDir });
}

/** The holder of the lock when one exists (for build: a bump is changing the tree right now). */
export async function checkoutLockHolder(gitDir: string): Promise<string | undefined> {
  const file = path.join(gitDir, CHECKOUT_LOCK_FILE);
  const holder = await readHolder(file);
  return holder === "absent" ? undefined : describe(holder);
}

async function tryCreate(file: string, me: Holder): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, "wx", 0o644);
  } catch (error) {
    if (fsCode(error) === "EEXIST") return false;
    throw new RuntimeFailureError(
      `${file}: taking the checkout's lock failed: ${reasonOf(error)}. sysconfig needs to write in the ` +
        `checkout's .git directory to keep concurrent bumps apart; run it as a user who may. Nothing was changed.`,
      { cause: error },
    );
  }
  try {
    await handle.writeFile(`${JSON.stringify(me)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

async function readHolder(file: string): Promise<Holder | "absent" | "unknown"> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    return fsCode(error) === "ENOENT" ? "absent" : "unknown";
  }
  try {
    const parsed = JSON.parse(text.slice(0, 4096)) as Partial<Holder>;
    if (typeof parsed.pid === "number" && typeof parsed.host === "string") {
      return {
        pid: parsed.pid,
        host: parsed.host,
        purpose: String(parsed.purpose ?? "?"),
        since: String(parsed.since ?? "?"),
      };
    }
  } catch {
    // Written by something else, or half-written by a holder that died: shown as unknown.
  }
  return "unknown";
}

function describe(holder: Holder | "absent" | "unknown"): string {
  if (holder === "absent") return "a holder that just finished";
  if (holder === "unknown") return "an unknown holder";
  const value = escapeControls(
    `${holder.purpose}, pid ${holder.pid} on ${holder.host} since ${holder.since}`,
  );
  return value.length > 200 ? `${value.slice(0, 197)}...` : value;
}

/** True when the holder is a process on this host that no longer runs. */
function isDead(holder: Holder): boolean {
  if (holder.host !== os.hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return fsCode(error) === "ESRCH";
  }
}

function busy(request: LockRequest, file: string, holder: Holder | "absent" | "unknown"): SafetyRefusalError {
  const seconds = Math.round(request.timeoutMs / 100) / 10;
  const dead = typeof holder === "object" && isDead(holder);
  const advice = dead
    ? `That process no longer runs (killed?): check the checkout with 'git status', then remove ${file} and run again.`
    : `Run again once it is done, or raise --lock-timeout. If no sysconfig runs in this checkout any more, remove ${file}.`;
  return new SafetyRefusalError(
    "checkout-lock",
    `${request.command} refused by the checkout lock: ${file} is held by ${describe(holder)}, and it was not ` +
      `released within ${seconds} s. One sysconfig writes in a checkout at a time, so that concurrent bumps ` +
      `never lose an update. ${advice} Nothing was changed.`,
  );
}
