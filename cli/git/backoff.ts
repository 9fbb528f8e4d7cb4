// Jittered exponential backoff between push attempts, so concurrent bumps spread out instead of colliding again.

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 150, capMs: 4000 };

/** "Full jitter": a uniform delay in [base/2, min(cap, base·2^(attempt-1))] — attempt counts from 1. */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const floor = Math.min(ceiling, policy.baseMs / 2);
  return Math.round(floor + random() * (ceiling - floor));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
