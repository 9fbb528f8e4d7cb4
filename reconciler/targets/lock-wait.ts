// How acquireLock waits for a lock another reconciler holds: not at all, or until a deadline. A run
// started by a timer or CronJob must never hang forever behind a stuck lock.
import { RuntimeFailureError } from "../errors.js";

/** --lock-timeout's default: long enough for a normal reconcile to finish, short enough for a timer. */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 600;

/** false: refuse at once (exit 4). Otherwise wait at most timeoutMs, and stop early when signal aborts. */
export type LockWait = false | { timeoutMs: number; signal?: AbortSignal };

/** Tracks one acquireLock's wait: whether time is up, and a pause that an abort ends early. */
export interface LockWaiter {
  /** True once the deadline has passed (always true when not waiting at all). */
  expired(): boolean;
  /** Throws a RuntimeFailureError (exit 1) when the signal has aborted. */
  assertNotInterrupted(what: string): void;
  /** Sleeps up to ms, never past the deadline, returning early on abort. */
  pause(ms: number): Promise<void>;
  /** "after N s (--lock-timeout)", for the give-up message. */
  readonly gaveUpAfter: string;
}

export function lockWaiter(wait: LockWait): LockWaiter {
  const deadline = wait === false ? 0 : Date.now() + wait.timeoutMs;
  const signal = wait === false ? undefined : wait.signal;
  const seconds = wait === false ? 0 : Math.round(wait.timeoutMs / 100) / 10;
  return {
    expired: () => wait === false || Date.now() >= deadline,
    assertNotInterrupted(what) {
      if (signal?.aborted !== true) return;
      throw new RuntimeFailureError(
        `${what}: interrupted while waiting for the lock. Nothing was changed; run reconcile again.`,
        { transient: false },
      );
    },
    pause: (ms) => pause(Math.max(0, Math.min(ms, deadline - Date.now())), signal),
    gaveUpAfter: `after ${seconds} s (--lock-timeout)`,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
