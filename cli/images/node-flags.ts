// How Node runs the reconciler in its image (the launcher's shebang line); benchmarks use the same.
/**
 * V8 flags of the reconciler in its image: young-generation semi-spaces of 4 MB instead of 16 keep a
 * 1,000-object reconcile near 125 MB of RSS instead of 165 (measured: bench/reconcile-kubernetes.ts,
 * whose runs use the same flags), at no measurable cost in time.
 */
export const RECONCILER_NODE_FLAGS = ["--max-semi-space-size=4"] as const;
