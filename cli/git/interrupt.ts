// One SIGINT/SIGTERM handler for the git work of a command: stop the git processes still running (with the
// ssh or https helpers they started, which sit in their own process group and so get no signal from a
// terminal or a CI runner), then remove temporary clones, then end the process the way the signal asked.
// Stopping comes first: a git left running would re-create a clone directory after it is removed.

const stops = new Set<() => Promise<void>>();
const cleanups = new Set<() => void>();
let installed = false;
let ending = false;

/** Registers a stop for a running process; returns its unregister. */
export function onInterruptStop(stop: () => Promise<void>): () => void {
  stops.add(stop);
  update();
  return () => {
    stops.delete(stop);
    update();
  };
}

/** Registers a synchronous cleanup (removing a temp dir) run after every stop; returns its unregister. */
export function onInterruptCleanup(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  update();
  return () => {
    cleanups.delete(cleanup);
    update();
  };
}

function update(): void {
  if (ending) return;
  const wanted = stops.size + cleanups.size > 0;
  if (wanted === installed) return;
  installed = wanted;
  if (wanted) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  } else {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  ending = true; // no re-install while ending: a second signal gets the default (kill)
  void Promise.allSettled([...stops].map((stop) => stop())).finally(() => {
    for (const cleanup of [...cleanups]) {
      try {
        cleanup();
      } catch {
        // best effort: the process is ending
      }
    }
    // Re-raise with our handler gone, so the process ends the way the signal asked.
    process.kill(process.pid, signal);
  });
}
