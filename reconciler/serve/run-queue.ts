// Never two runs at once: a trigger while a run is going queues exactly one more run, and every
// further trigger before that one starts joins it (coalesces). After stop() nothing new starts.

/** What became of one trigger. */
export type TriggerOutcome = "started" | "queued" | "coalesced" | "stopped";

export class RunQueue {
  private current: Promise<void> | undefined;
  /** Reasons of the one queued run, undefined when none is queued. */
  private queued: string[] | undefined;
  private stopped = false;

  /** `run` gets the reasons of every trigger it answers; it must not throw (errors are its own to report). */
  constructor(private readonly run: (reasons: readonly string[]) => Promise<void>) {}

  trigger(reason: string): TriggerOutcome {
    if (this.stopped) return "stopped";
    if (this.current === undefined) {
      this.start([reason]);
      return "started";
    }
    if (this.queued !== undefined) {
      if (!this.queued.includes(reason)) this.queued.push(reason);
      return "coalesced";
    }
    this.queued = [reason];
    return "queued";
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  get hasQueued(): boolean {
    return this.queued !== undefined;
  }

  /** Drops the queued run and refuses new triggers; the current run (if any) goes on. */
  stop(): void {
    this.stopped = true;
    this.queued = undefined;
  }

  /** Resolves once no run is going (including any queued one that starts meanwhile). */
  async idle(): Promise<void> {
    while (this.current !== undefined) await this.current;
  }

  private start(reasons: string[]): void {
    this.current = (async () => {
      try {
        await this.run(reasons);
      } catch {
        // run() reports its own failures; a throw here must not stop the queue
      }
    })().finally(() => {
      this.current = undefined;
      const next = this.queued;
      this.queued = undefined;
      if (next !== undefined && !this.stopped) this.start(next);
    });
  }
}
