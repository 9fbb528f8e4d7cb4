// The sysconfig command line, run by cli/main.ts: parses the arguments and turns typed errors into exit codes.
// Also the one place that makes --output json print exactly one JSON document, errors included (json-document.ts),
// and that keeps a closed stdout or stderr from crashing the process (std-streams.ts).
import { CommanderError } from "commander";
import { ExitCode, exitCodeOf, SysconfigError } from "../reconciler/errors.js";
import { processIo, terminalSafe, type CliIo } from "./io.js";
import { jsonError, JsonDocument, jsonRequested, type JsonError } from "./json-document.js";
import { buildProgram } from "./program.js";
import { standardStreams } from "./std-streams.js";

export async function main(argv: string[]): Promise<number> {
  const streams = standardStreams();
  const args = argv.slice(2);
  let io: CliIo | undefined;
  // Asked for once the options are parsed: --verbose, or SYSCONFIG_VERBOSE read like every boolean flag's variable.
  const verbose = () => program.opts().verbose === true;
  // Flags set by their SYSCONFIG_* variable: an error quoting such a flag says which variable set it.
  const fromEnv: { flag: string; variable: string }[] = [];
  const program = buildProgram(
    () => (io ??= processIo(verbose(), output)),
    process.env,
    (flag, variable) => fromEnv.push({ flag, variable }),
  );
  const json = jsonRequested(args, process.env, (name) =>
    program.commands.some((c) => c.name() === name && c.options.some((o) => o.long === "--output")),
  );
  const document = json ? new JsonDocument() : undefined;
  const output = (text: string) => (document ? document.capture(text) : streams.out.write(text));
  let failure: JsonError | undefined;
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (thrown) {
    const error = namingVariables(thrown, fromEnv);
    failure = jsonError(
      error,
      args.find((a) => !a.startsWith("-")),
    );
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors are invalid input (commander already printed them).
      if (error.exitCode === 0) {
        failure = undefined;
        return ExitCode.ok;
      }
      return ExitCode.invalid;
    }
    report(error, verbose());
    return exitCodeOf(error);
  } finally {
    if (document) streams.out.write(document.render(failure));
  }
}

/**
 * A message that quotes a flag set by its variable (`--listen "x" failed: …` from SYSCONFIG_LISTEN) gets
 * "(--listen was set by SYSCONFIG_LISTEN)": the operator looks for the value where it really is.
 */
function namingVariables(error: unknown, fromEnv: readonly { flag: string; variable: string }[]): unknown {
  if (!(error instanceof SysconfigError)) return error;
  const notes = fromEnv
    .filter(({ flag, variable }) => !error.message.includes(variable) && quotes(error.message, flag))
    .map(({ flag, variable }) => `${flag} was set by ${variable}`);
  if (notes.length > 0) error.message = `${error.message} (${notes.join("; ")})`;
  return error;
}

/** Whether `message` names `flag` as a whole word (--timeout, not --timeout-x or --lock-timeout). */
function quotes(message: string, flag: string): boolean {
  let at = message.indexOf(flag);
  while (at >= 0) {
    const before = message[at - 1] ?? " ";
    const after = message[at + flag.length] ?? " ";
    if (!/[\w-]/.test(before) && !/[\w-]/.test(after)) return true;
    at = message.indexOf(flag, at + 1);
  }
  return false;
}

/** Prints the error, with its cause when verbose; credentials in URLs and control characters never reach the terminal. */
function report(error: unknown, verbose: boolean): void {
  const write = (text: string) => standardStreams().err.write(terminalSafe(text));
  if (error instanceof SysconfigError) {
    if (error.exitCode === ExitCode.changesPending) return;
    write(`sysconfig: ${error.message}\n`);
    if (verbose && error.cause !== undefined) {
      write(
        `cause: ${error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : JSON.stringify(error.cause)}\n`,
      );
    }
    return;
  }
  write(
    `sysconfig: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
}
