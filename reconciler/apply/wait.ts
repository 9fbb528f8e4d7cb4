// Waits for one applied change to become healthy, bounded by the deadline even if the target overruns it.
import { reasonOf } from "../errors.js";
import type { Change, HealthReport } from "../model.js";
import type { ApplyContext, Target } from "../targets/target.js";

/** Extra time a target gets past the deadline to report on its own before we call it unhealthy. */
const GRACE_MS = 2000;

export async function waitForHealth(
  target: Target,
  change: Change,
  context: ApplyContext,
): Promise<HealthReport> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<HealthReport>((resolve) => {
    timer = setTimeout(
      () => resolve({ subject: change.subject, healthy: false, reason: "no health report before --timeout" }),
      Math.max(0, context.deadline - Date.now()) + GRACE_MS,
    );
  });
  try {
    return await Promise.race([target.waitHealthy(change, context), overrun]);
  } catch (error) {
    return { subject: change.subject, healthy: false, reason: `health check failed: ${reasonOf(error)}` };
  } finally {
    clearTimeout(timer);
  }
}
