// One poll loop shared by many waiters: each poll checks every waiting item in one call and resolves
// each waiter from that one answer. The interval starts short and backs off, so a large apply does not
// load the API it waits on. Used by the apply engine (one per target) and by targets that wait inside
// an apply (docker's start-first update).
import { reasonOf } from "../errors.js";
import { pause } from "./lock-wait.js";
import type { HealthCheck, HealthPolling } from "./target.js";

/** Fleet schedules on a 2 s pass and Docker health checks run every few seconds: poll a bit faster. */
export const DEFAULT_HEALTH_POLLING: HealthPolling = { initialMs: 250, maxMs: 2_000 };
const BACKOFF = 1.5;
/** Extra time a hung check gets past a waiter's deadline before the waiter gives up on it. */
const GRACE_MS = 2_000;

export type WaitOutcome =
  | { state: "healthy" }
  | { state: "failed"; reason: string }
  /** The deadline passed; `reason` is the last pending reason seen. */
  | { state: "timeout"; reason?: string }
  | { state: "interrupted"; reason?: string };

/** A finished wait as its caller reports it: healthy, or not with the reason. */
export type Health = { healthy: true } | { healthy: false; reason: string };

/** A wait's outcome as a Health, in the caller's words for a deadline passed and an interruption. */
export function healthOf(
  outcome: WaitOutcome,
  words: { timeout: (last: string | undefined) => string; interrupted: (last: string | undefined) => string },
): Health {
  switch (outcome.state) {
    case "healthy":
      return { healthy: true };
    case "failed":
      return { healthy: false, reason: outcome.reason };
    case "timeout":
      return { healthy: false, reason: words.timeout(outcome.reason) };
    case "interrupted":
      return { healthy: false, reason: words.interrupted(outcome.reason) };
  }
}

/** Checks every item in one request (or one list walk); answers keyed by the waiter's key. */
export type BatchCheck<T> = (items: readonly T[]) => Promise<Map<string, HealthCheck>>;

interface Waiter<T> {
  key: string;
  item: T;
  deadline: number;
  since: number;
  last?: string;
  onPending?: (reason: string | undefined, waitedMs: number) => void;
  timer?: NodeJS.Timeout;
  resolve: (outcome: WaitOutcome) => void;
}

export class SharedPoll<T> {
  private readonly waiters = new Set<Waiter<T>>();
  private running = false;
  /** Polls issued (tests and benchmarks read it). */
  polls = 0;

  constructor(
    private readonly check: BatchCheck<T>,
    private readonly timing: HealthPolling = DEFAULT_HEALTH_POLLING,
    private readonly signal?: AbortSignal,
  ) {}

  /** Resolves once `item` is healthy or failed, its deadline passes, or the signal aborts. */
  wait(
    key: string,
    item: T,
    deadline: number,
    onPending?: (reason: string | undefined, waitedMs: number) => void,
  ): Promise<WaitOutcome> {
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter<T> = { key, item, deadline, since: Date.now(), resolve };
      if (onPending) waiter.onPending = onPending;
      waiter.timer = setTimeout(
        () => this.settle(waiter, { state: "timeout", ...(waiter.last ? { reason: waiter.last } : {}) }),
        Math.max(0, deadline - Date.now()) + GRACE_MS,
      );
      this.waiters.add(waiter);
      if (!this.running) void this.loop();
    });
  }

  private settle(waiter: Waiter<T>, outcome: WaitOutcome): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }

  private async loop(): Promise<void> {
    this.running = true;
    let interval = this.timing.initialMs;
    try {
      while (this.waiters.size > 0) {
        const nearest = Math.min(...[...this.waiters].map((w) => w.deadline));
        await pause(Math.max(0, Math.min(interval, nearest - Date.now())), this.signal);
        const batch = [...this.waiters];
        if (batch.length === 0) return;
        let answers: Map<string, HealthCheck>;
        let error: string | undefined;
        this.polls++;
        try {
          answers = await this.check(batch.map((w) => w.item));
        } catch (e) {
          answers = new Map();
          error = `cannot check health: ${reasonOf(e)}`;
        }
        const now = Date.now();
        for (const w of batch) {
          const answer = answers.get(w.key) ?? { state: "pending", ...(error ? { reason: error } : {}) };
          if (answer.state !== "pending") {
            this.settle(w, answer);
            continue;
          }
          if (answer.reason !== undefined) w.last = answer.reason;
          if (now >= w.deadline) {
            this.settle(w, { state: "timeout", ...(w.last ? { reason: w.last } : {}) });
            continue;
          }
          w.onPending?.(answer.reason, now - w.since);
        }
        // Interrupted: the poll just made still counted (what is healthy is reported healthy); the
        // rest stop waiting now, the next run picks them up.
        if (this.signal?.aborted === true) {
          for (const w of [...this.waiters]) {
            this.settle(w, { state: "interrupted", ...(w.last ? { reason: w.last } : {}) });
          }
          return;
        }
        interval = Math.min(this.timing.maxMs, interval * BACKOFF);
      }
    } finally {
      this.running = false;
    }
  }
}
