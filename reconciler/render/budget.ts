// Bounds one render: its output (MAX_RENDERED_BYTES) and the work on the way there. Handlebars builds each
// block's text in memory before the block around it sees it, so 8 nested {{#each}} over the same list
// took 2 GB and 22 s before the result could be measured: the bound is counted as the blocks run.

/** The largest rendered file (1 MiB): a unit file or a manifest is a few KB; 1,000 env values ~100 KB. */
export const MAX_RENDERED_BYTES = 1024 * 1024;
/** Block bodies run in one render (#each iterations, #if/#with bodies): a real template runs a few hundred. */
export const MAX_BLOCK_RUNS = 100_000;
/** Characters appended to all output buffers together (a block's text counts again in the blocks around it). */
export const MAX_BLOCK_CHARS = 16 * MAX_RENDERED_BYTES;

/** Thrown when a render passes a bound; the render turns it into an exit-3 error naming template and line. */
export class RenderBoundError extends Error {}

export interface RenderBudget {
  runs: number;
  chars: number;
}

let current: RenderBudget | undefined;

/** Runs a synchronous render with a fresh budget (Handlebars renders synchronously, so one at a time). */
export function withBudget<T>(render: () => T): T {
  const outer = current;
  current = { runs: 0, chars: 0 };
  try {
    return render();
  } finally {
    current = outer;
  }
}

/** Counts one block body's run; throws RenderBoundError past the bound. */
export function spendRun(): void {
  if (current === undefined) return;
  current.runs += 1;
  if (current.runs > MAX_BLOCK_RUNS) {
    throw new RenderBoundError(
      `the template runs more than ${MAX_BLOCK_RUNS} block bodies ({{#each}} iterations and the like; nested ` +
        `#each over the same list multiply)`,
    );
  }
}

/** Counts text appended to any output buffer of the render; throws RenderBoundError past the bound. */
export function spendChars(count: number): void {
  if (current === undefined) return;
  current.chars += count;
  if (current.chars > MAX_BLOCK_CHARS) {
    throw new RenderBoundError(
      `the template produces more than ${MAX_BLOCK_CHARS / MAX_RENDERED_BYTES} MiB of text on the way to a file ` +
        `of at most 1 MiB (nested #each over the same list, or a long value repeated many times)`,
    );
  }
}
