// --output json: exactly one JSON document on stdout, on every path of a command that takes it. A command
// writes its document as usual; main holds it back until the command ends, then prints it — with an
// `error` member when the command failed — or, when the command failed before writing one (lock held,
// target unreachable, unknown environment, bad repo, unknown flag, invalid value), an error document alone.
import { CommanderError } from "commander";
import {
  ExitCode,
  exitCodeOf,
  InvalidInputError,
  SafetyRefusalError,
  SysconfigError,
} from "../reconciler/errors.js";
import { maskUrlUserinfo } from "../reconciler/text/url-userinfo.js";
import { redactSecrets } from "./git/redact.js";

/** What --output json prints for a failure: `{"error": {exitCode, class, message, …}}`. */
export interface JsonError {
  exitCode: number;
  /** InvalidInputError (3), SafetyRefusalError (4), RuntimeFailureError (1), InternalError (1). */
  class: string;
  message: string;
  rule?: string;
  issues?: readonly string[];
}

/**
 * Whether this command line asked for JSON: `--output json` (or `--output=json`, the last one wins), else
 * SYSCONFIG_OUTPUT=json for a command that takes --output. Read from argv, since a usage error (unknown
 * flag, invalid value) ends the parse before any option is known.
 */
export function jsonRequested(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  takesOutput: (command: string) => boolean,
): boolean {
  const command = args.find((a) => !a.startsWith("-"));
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") break;
    if (arg === "--output") value = args[++i];
    else if (arg.startsWith("--output=")) value = arg.slice("--output=".length);
  }
  if (value !== undefined) return value === "json";
  return env.SYSCONFIG_OUTPUT === "json" && command !== undefined && takesOutput(command);
}

export function jsonError(error: unknown, command: string | undefined): JsonError {
  const clean = (text: string) => maskUrlUserinfo(redactSecrets(text));
  if (error instanceof CommanderError) {
    const message = error.message.replace(/^error: /i, "");
    return {
      exitCode: ExitCode.invalid,
      class: InvalidInputError.name,
      message: clean(command === undefined ? message : `sysconfig ${command}: ${message}`),
    };
  }
  const base: JsonError = {
    exitCode: exitCodeOf(error),
    class: errorClass(error),
    message: clean(error instanceof Error ? error.message : String(error)),
  };
  if (error instanceof SafetyRefusalError) base.rule = error.rule;
  if (error instanceof InvalidInputError && error.issues.length > 0) base.issues = error.issues.map(clean);
  return base;
}

/** The error's class among the few that map to exit codes (a FleetRequestError is a RuntimeFailureError). */
function errorClass(error: unknown): string {
  if (!(error instanceof SysconfigError)) return "InternalError";
  let proto: unknown = Object.getPrototypeOf(error);
  while (proto !== null && Object.getPrototypeOf(proto) !== SysconfigError.prototype) {
    proto = Object.getPrototypeOf(proto);
  }
  const ctor = (proto as { constructor?: { name?: string } } | null)?.constructor?.name;
  return ctor ?? error.name;
}

/** Collects what the command writes to stdout; `render` gives the one document to print. */
export class JsonDocument {
  private text = "";

  capture(text: string): void {
    this.text += text;
  }

  /** The command's document, with `error` added when it failed; an error document when it wrote none. */
  render(failure: JsonError | undefined): string {
    const written = this.text.trim();
    if (failure === undefined || failure.exitCode === ExitCode.changesPending) {
      return written === "" ? "" : `${written}\n`;
    }
    if (written === "") return `${JSON.stringify({ error: failure }, null, 2)}\n`;
    let document: unknown;
    try {
      document = JSON.parse(written);
    } catch {
      return `${written}\n`; // not one JSON document: printed as written rather than lost
    }
    const indent = written.includes("\n") ? 2 : undefined;
    const merged =
      typeof document === "object" && document !== null && !Array.isArray(document)
        ? { ...document, error: failure }
        : { result: document, error: failure };
    return `${JSON.stringify(merged, null, indent)}\n`;
  }
}
