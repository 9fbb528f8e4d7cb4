// Long local work (rendering and checking 1,000 services) that runs while a target's reads are in flight
// gives the event loop back now and then: a list page that arrived is answered with the next page's
// request at once instead of after the whole render. Without it the paged reads of a fleet no-op waited
// for each stretch of local work, and the no-op cost their sum again instead of max(local, reads).
import { setImmediate } from "node:timers/promises";

/** How long local work runs before it lets I/O callbacks in. */
export const SLICE_MS = 8;

/**
 * A function to await between items of a long loop: it yields to the event loop (one macrotask) when the
 * current slice of `sliceMs` is used up, and otherwise costs one resolved promise.
 */
export function cooperative(sliceMs = SLICE_MS): () => Promise<void> {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await setImmediate();
    sliceStart = performance.now();
  };
}
