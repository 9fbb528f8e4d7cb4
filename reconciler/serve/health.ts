// The health verdict /healthz gives: healthy while runs succeed or fail now and then; unhealthy once
// N runs in a row have failed (N = --unhealthy-after), until one succeeds again. A baked config that is
// invalid is unhealthy at once: no retry can fix it, only a new config image.
import type { RunRecord } from "./run-record.js";

export const DEFAULT_UNHEALTHY_AFTER = 3;

export class HealthState {
  consecutiveFailures = 0;
  lastRun: RunRecord | undefined;
  lastSuccess: RunRecord | undefined;

  constructor(readonly unhealthyAfter: number) {}

  record(run: RunRecord): void {
    this.lastRun = run;
    if (run.result === "success") {
      this.consecutiveFailures = 0;
      this.lastSuccess = run;
    } else if (run.result !== "interrupted") {
      // A shutdown stopping a run says nothing about the target; every other outcome needs a human.
      this.consecutiveFailures += 1;
    }
  }

  get healthy(): boolean {
    return this.consecutiveFailures < this.unhealthyAfter && this.lastRun?.result !== "invalid";
  }

  /** One line for /healthz and the logs. */
  get summary(): string {
    if (this.lastRun === undefined) return "no run finished yet";
    if (this.consecutiveFailures === 0) return `last run #${this.lastRun.id} succeeded`;
    if (this.lastRun.result === "invalid") {
      return `the config is invalid (run #${this.lastRun.id}); only a new config image fixes it: ${this.lastRun.error ?? ""}`;
    }
    return (
      `${this.consecutiveFailures} run(s) in a row did not succeed (unhealthy after ${this.unhealthyAfter}); ` +
      `last: #${this.lastRun.id} ${this.lastRun.result}${this.lastRun.error ? `: ${this.lastRun.error}` : ""}`
    );
  }
}
