#!/usr/bin/env -S node --max-semi-space-size=4
// The flag is the config image's (cli/images/node-flags.ts): 4 MB young-generation semi-spaces keep a
// 1,000-object run ~25 MB smaller, at no measurable cost in time. env -S splits the line (GNU and BSD env).
// The sysconfig binary: parses the command line and turns typed errors into exit codes (the only place that exits).
import { CommanderError } from "commander";
import { ExitCode, exitCodeOf, SysconfigError } from "../reconciler/errors.js";
import { processIo, terminalSafe, type CliIo } from "./io.js";
import { buildProgram } from "./program.js";

async function main(argv: string[]): Promise<number> {
  let io: CliIo | undefined;
  // Asked for once the options are parsed: --verbose, or SYSCONFIG_VERBOSE read like every boolean flag's variable.
  const verbose = () => program.opts().verbose === true;
  const getIo = () => (io ??= processIo(verbose()));
  const program = buildProgram(getIo);
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors are invalid input (commander already printed them).
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.invalid;
    }
    report(error, verbose());
    return exitCodeOf(error);
  }
}

/** Prints the error, with its cause when verbose; credentials in URLs and control characters never reach the terminal. */
function report(error: unknown, verbose: boolean): void {
  const write = (text: string) => process.stderr.write(terminalSafe(text));
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

process.exitCode = await main(process.argv);
