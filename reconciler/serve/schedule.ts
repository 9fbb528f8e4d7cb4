// The drift-correction schedule: a node-cron expression (5 fields, or 6 with seconds first), checked
// before serve starts so a typo is exit 3 instead of a reconciler that never runs.
import cron, { type ScheduledTask } from "node-cron";
import { InvalidInputError } from "../errors.js";

/** Every 5 minutes. */
export const DEFAULT_SCHEDULE = "*/5 * * * *";

/** Throws InvalidInputError naming each bad field of `expression`. */
export function validateSchedule(expression: string): void {
  const check = cron.validateDetailed(expression);
  if (check.valid) return;
  const problems = check.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
  throw new InvalidInputError(
    `--schedule ${JSON.stringify(expression)} failed: not a cron expression (${problems}). Use 5 fields ` +
      `(minute hour day-of-month month day-of-week, e.g. "${DEFAULT_SCHEDULE}" for every 5 minutes) or 6 ` +
      `with seconds first (e.g. "*/30 * * * * *"). Nothing was started.`,
  );
}

/** Calls `tick` on every match of `expression` until the returned stop() is called. */
export function startSchedule(
  expression: string,
  tick: () => void,
): { stop(): Promise<void>; next(): Date | null } {
  validateSchedule(expression);
  // noOverlap is not needed: tick only hands a trigger to the run queue and returns at once.
  const task: ScheduledTask = cron.schedule(expression, () => tick(), { name: "sysconfig-serve" });
  return {
    next: () => task.getNextRun(),
    stop: async () => {
      await task.stop();
      await task.destroy();
    },
  };
}
