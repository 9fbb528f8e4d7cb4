// serve's log: one JSON object per line when stdout is not a terminal (for log collectors), a short
// readable line when it is. Every line passes through `redact`, so no credential in a URL is written.
import type { Reporter } from "../report/reporter.js";

export type Level = "info" | "warn" | "error" | "debug";
export type EventFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export interface EventLog {
  emit(level: Level, event: string, fields?: EventFields): void;
  /** The pipeline's progress lines, as `log` events. */
  readonly reporter: Reporter;
}

export interface EventLogOptions {
  write(line: string): void;
  /** JSON lines (not a TTY) or readable lines (a TTY). */
  json: boolean;
  verbose: boolean;
  redact(text: string): string;
  now?: () => Date;
}

export function createEventLog(options: EventLogOptions): EventLog {
  const now = options.now ?? (() => new Date());
  const emit = (level: Level, event: string, fields: EventFields = {}): void => {
    if (level === "debug" && !options.verbose) return;
    const time = now();
    const line = options.json
      ? JSON.stringify({ time: time.toISOString(), level, event, ...withoutReserved(fields) })
      : readable(time, level, event, fields);
    options.write(`${options.redact(line)}\n`);
  };
  return {
    emit,
    reporter: {
      info: (message) => emit("info", "log", { message }),
      warn: (message) => emit("warn", "log", { message }),
      debug: (message) => emit("debug", "log", { message }),
    },
  };
}

/** "19:20:01 run.finished run=3 result=success"; a `log` event is just its message. */
function readable(time: Date, level: Level, event: string, fields: EventFields): string {
  const clock = time.toTimeString().slice(0, 8);
  const mark = level === "warn" ? " warning:" : level === "error" ? " error:" : "";
  if (event === "log") return `${clock}${mark} ${String(fields.message)}`;
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(
      ([k, v]) =>
        `${k}=${Array.isArray(v) ? v.join(",") : typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : String(v)}`,
    );
  return `${clock}${mark} ${event}${parts.length > 0 ? ` ${parts.join(" ")}` : ""}`;
}

/** A field named time, level or event would overwrite the line's own. */
function withoutReserved(fields: EventFields): EventFields {
  const { time: _time, level: _level, event: _event, ...rest } = fields;
  return rest;
}
