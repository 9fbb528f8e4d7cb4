// Build and push progress on stderr: on a TTY one live line that redraws while layers move;
// otherwise plain lines, one per step or layer state change (CI logs).
import type { Reporter } from "../../reconciler/report/reporter.js";
import type { EngineEvent } from "./docker-engine.js";

export interface Progress {
  /** One engine event of `phase` (build or push). */
  event(phase: string, event: EngineEvent): void;
  /** A plain status line. */
  line(message: string): void;
  /** Clears any live line. */
  end(): void;
}

export interface ProgressOutput {
  tty: boolean;
  /** Raw writes to stderr, used for the live line on a TTY. */
  write(text: string): void;
  reporter: Reporter;
}

/** `key` dedupes layer states (each shown once); build output lines are never deduped. */
function describe(
  event: EngineEvent,
): { key: string | undefined; text: string; transient: boolean } | undefined {
  if (event.stream !== undefined) {
    const text = event.stream.trim();
    if (text === "---> Using cache") return { key: undefined, text: "  (cached)", transient: false };
    if (
      text === "" ||
      text.startsWith("---> ") ||
      text.startsWith("Removing intermediate") ||
      text.startsWith("Successfully built")
    )
      return undefined;
    return { key: undefined, text, transient: false };
  }
  if (event.status !== undefined) {
    if (event.status === "Preparing" || event.status === "Waiting") return undefined;
    const id = event.id === undefined ? "" : `${event.id}: `;
    const moving = event.progressDetail?.total !== undefined || event.status === "Pushing";
    const text = `${id}${event.status}${moving && event.progress ? ` ${event.progress}` : ""}`;
    return { key: `${id}${event.status}`, text, transient: moving };
  }
  return undefined;
}

export function createProgress(output: ProgressOutput): Progress {
  const seen = new Set<string>();
  let live = false;
  const clearLive = () => {
    if (live) output.write("\r\u001b[K");
    live = false;
  };
  return {
    event(phase, event) {
      const d = describe(event);
      if (d === undefined) return;
      if (d.transient) {
        if (output.tty) {
          output.write(`\r\u001b[K${phase}: ${d.text.slice(0, 150)}`);
          live = true;
        }
        return;
      }
      if (d.key !== undefined) {
        const key = `${phase} ${d.key}`;
        if (seen.has(key)) return;
        seen.add(key);
      }
      clearLive();
      output.reporter.info(`${phase}: ${d.text}`);
    },
    line(message) {
      // A new phase (e.g. the next reference's push) shows its layer states afresh.
      seen.clear();
      clearLive();
      output.reporter.info(message);
    },
    end: clearLive,
  };
}

/** Progress that shows nothing: for library callers and benchmarks. */
export const silentProgress: Progress = {
  event: () => undefined,
  line: () => undefined,
  end: () => undefined,
};
