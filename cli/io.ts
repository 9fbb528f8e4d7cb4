// The CLI's edges: where results (stdout) and logs (stderr) go, and whether to use colour.
import type { Reporter } from "../reconciler/report/reporter.js";
import { escapeForTerminal } from "../reconciler/text/escape.js";
import { maskUrlUserinfo } from "../reconciler/text/url-userinfo.js";
import { redactSecrets } from "./git/redact.js";
import { standardStreams } from "./std-streams.js";

/**
 * Every log line and error message on its way to stderr: passwords in URLs masked, control characters
 * made visible (a value holding ESC or BEL cannot rewrite the terminal), only the message's own layout kept.
 */
export function terminalSafe(text: string): string {
  return escapeForTerminal(maskUrlUserinfo(redactSecrets(text)));
}

export interface CliIo {
  /** Results: plans, diffs, JSON. */
  out(text: string): void;
  /** Logs and progress. */
  reporter: Reporter;
  color: boolean;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * The process's io. Results go to `out` (stdout, or main's JSON document under --output json); logs to
 * stderr. Both streams are guarded: a reader that went away (EPIPE) drops the output, never the run.
 */
export function processIo(
  verbose: boolean,
  out: (text: string) => void = (text) => standardStreams().out.write(text),
): CliIo {
  const err = (text: string) => standardStreams().err.write(text);
  const isTTY = process.stdout.isTTY === true;
  const color = isTTY && process.env.NO_COLOR === undefined && process.env.TERM !== "dumb";
  const errColor = process.stderr.isTTY === true && process.env.NO_COLOR === undefined;
  const paint = (code: string, text: string) => (errColor ? `\u001b[${code}m${text}\u001b[0m` : text);
  return {
    // Results are masked where they are made (plan, diffs); a URL's password is masked here once more.
    out: (text) => out(maskUrlUserinfo(text.endsWith("\n") ? text : `${text}\n`)),
    // Logs may quote an endpoint, a remote URL or a user's value: see terminalSafe.
    reporter: {
      info: (message) => err(`${terminalSafe(message)}\n`),
      warn: (message) => err(`${paint("33", "warning:")} ${terminalSafe(message)}\n`),
      debug: (message) => {
        if (verbose) err(`${paint("2", terminalSafe(message))}\n`);
      },
    },
    color,
    isTTY,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** ANSI colour for plan and diff output, a no-op when colour is off. */
export function colorizer(enabled: boolean) {
  const wrap = (code: string) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { green: wrap("32"), red: wrap("31"), yellow: wrap("33"), bold: wrap("1"), dim: wrap("2") };
}
