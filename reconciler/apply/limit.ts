// At most `limit` tasks run at once; the rest queue in call order. Unlike mapBounded, tasks can be
// started from anywhere (single objects and every roll share one limit within a level). A task that
// must wait on something that sends no requests of its own (a health wait on the shared watch) steps
// `outside` the limit meanwhile, so its slot sends the next change instead of sitting idle.
export interface Limiter {
  <R>(task: () => Promise<R>): Promise<R>;
  /** From inside a task: frees its slot while `wait` runs, then takes a slot again (queueing if full). */
  outside<R>(wait: () => Promise<R>): Promise<R>;
}

export function createLimiter(limit: number): Limiter {
  const max = Math.max(1, limit);
  let active = 0;
  const queue: (() => void)[] = [];
  const acquire = async (): Promise<void> => {
    if (active >= max) await new Promise<void>((resolve) => queue.push(resolve));
    active += 1;
  };
  const release = (): void => {
    active -= 1;
    queue.shift()?.();
  };
  const limiter = async <R>(task: () => Promise<R>): Promise<R> => {
    await acquire();
    try {
      return await task();
    } finally {
      release();
    }
  };
  limiter.outside = async <R>(wait: () => Promise<R>): Promise<R> => {
    release();
    try {
      return await wait();
    } finally {
      await acquire();
    }
  };
  return limiter;
}
