// The engine's one health watcher per target: every waiting change is checked by the same poll of
// target.checkHealth (one list per poll, never one request per object), and a change still pending
// after a while has its reason reported to the operator while the wait goes on.
import type { Change } from "../model.js";
import { maskSecrets } from "../text/mask.js";
import {
  DEFAULT_HEALTH_POLLING,
  healthOf,
  SharedPoll,
  type Health,
  type WaitOutcome,
} from "../targets/shared-poll.js";
import type { ApplyContext, HealthPolling, Target } from "../targets/target.js";

export interface HealthWatcher {
  /** Waits until `change` is healthy, failed, its deadline passes or the run is interrupted. */
  wait(change: Change, deadline: number, label: string): Promise<Health>;
  /** checkHealth calls made so far. */
  readonly polls: number;
}

/** A pending change's reason is first shown after this long, then again when it changes or every REPEAT_MS. */
export const REPORT_PENDING_AFTER_MS = 5_000;
const REPEAT_MS = 30_000;

export function createHealthWatcher(
  target: Target,
  context: Omit<ApplyContext, "deadline">,
  settings: { timeoutMs: number; reportAfterMs?: number | undefined },
  polling: HealthPolling = target.healthPolling ?? DEFAULT_HEALTH_POLLING,
): HealthWatcher {
  const reportAfterMs = settings.reportAfterMs ?? REPORT_PENDING_AFTER_MS;
  let latest = Date.now();
  const poll = new SharedPoll<Change>(
    (changes) => target.checkHealth(changes, { ...context, deadline: latest }),
    polling,
    context.signal,
  );
  return {
    get polls() {
      return poll.polls;
    },
    async wait(change, deadline, label) {
      latest = Math.max(latest, deadline);
      let shown: { shape: string; at: number } | undefined;
      const onPending = (reason: string | undefined, waitedMs: number): void => {
        if (reason === undefined || waitedMs < reportAfterMs) return;
        const shape = reason.replace(/\d+(\.\d+)?/g, "#");
        const now = Date.now();
        if (shown && shown.shape === shape && now - shown.at < REPEAT_MS) return;
        shown = { shape, at: now };
        context.reporter.info(`${label}: waiting (${seconds(waitedMs)} s): ${maskSecrets(reason)}`);
      };
      return toHealth(await poll.wait(change.subject, change, deadline, onPending), settings.timeoutMs);
    },
  };
}

function toHealth(outcome: WaitOutcome, timeoutMs: number): Health {
  return healthOf(outcome, {
    timeout: (last) =>
      `not healthy within --timeout (${seconds(timeoutMs)} s); last seen: ${last ?? "no report yet"}`,
    interrupted: (last) => `interrupted while waiting${last ? `; last seen: ${last}` : ""}`,
  });
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
