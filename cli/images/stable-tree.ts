// build reads the working checkout (sysconfig.yaml, rendered/) and HEAD's objects: both must be the same
// commit, unchanged while they are read. Reading under the checkout's lock waits out a bump running there;
// a HEAD that still moves (a commit by hand) is reported as the tree changing under build, never as
// "rendered/ is stale … commit the result", which would have an operator commit a half-applied bump.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { InvalidInputError, SafetyRefusalError } from "../../reconciler/errors.js";
import {
  acquireCheckoutLock,
  DEFAULT_CHECKOUT_LOCK_SECONDS,
  type CheckoutLock,
} from "../git/checkout-lock.js";

const execFileAsync = promisify(execFile);

async function gitLine(repo: string, args: string[]): Promise<string | undefined> {
  try {
    return (await execFileAsync("git", args, { cwd: repo })).stdout.trim();
  } catch {
    return undefined;
  }
}

/** Runs `read` with the checkout held still: under its lock, and refused (exit 4) if HEAD moved meanwhile. */
export async function readStableTree<T>(
  repo: string,
  read: () => Promise<T>,
  timeoutSeconds = DEFAULT_CHECKOUT_LOCK_SECONDS,
): Promise<T> {
  const gitDir = await gitLine(repo, ["rev-parse", "--absolute-git-dir"]);
  let lock: CheckoutLock | undefined;
  if (gitDir !== undefined) {
    try {
      lock = await acquireCheckoutLock({
        gitDir,
        purpose: "build (reading the checkout)",
        command: "build",
        timeoutMs: timeoutSeconds * 1000,
      });
    } catch (error) {
      if (error instanceof SafetyRefusalError) {
        throw new SafetyRefusalError(
          "tree-changing",
          `build refused: the checkout ${repo} is changing under it (${error.message.replace(/^build refused by the checkout lock: /, "")})`,
          { cause: error },
        );
      }
      // A read-only checkout (no bump can run in it either): read it without the lock, HEAD still checked.
    }
  }
  try {
    const before = await gitLine(repo, ["rev-parse", "--verify", "--quiet", "HEAD"]);
    let result: T;
    try {
      result = await read();
    } catch (error) {
      if (error instanceof InvalidInputError) await checkHeadStill(repo, before, error);
      throw error;
    }
    await checkHeadStill(repo, before);
    return result;
  } finally {
    await lock?.release();
  }
}

async function checkHeadStill(repo: string, before: string | undefined, cause?: unknown): Promise<void> {
  const after = await gitLine(repo, ["rev-parse", "--verify", "--quiet", "HEAD"]);
  if (after === before) return;
  throw new SafetyRefusalError(
    "tree-changing",
    `build refused: the checkout ${repo} changed while build read it (HEAD moved from ` +
      `${before?.slice(0, 12) ?? "none"} to ${after?.slice(0, 12) ?? "none"}): something committed there meanwhile, ` +
      `a bump or a commit by hand. What build checked and what it would bake may differ, so it stopped. Run build ` +
      `again once the checkout is still; do not commit the working tree to make it pass. Nothing was built.`,
    { cause },
  );
}
