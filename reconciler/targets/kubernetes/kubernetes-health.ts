// The per-poll health verdict (the engine branch's HealthCheck in reconciler/targets/target.ts; kept
// here until that interface lands, with the same shape).
export type HealthCheck =
  | { state: "healthy" }
  /** Will not converge without a new change (failed job, stalled rollout). */
  | { state: "failed"; reason: string }
  /** Not yet; the reason is shown while waiting and in a timeout's message. */
  | { state: "pending"; reason?: string };
