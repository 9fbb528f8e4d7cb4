#!/usr/bin/env node
// The sysconfig binary: parses the command line and turns typed errors into exit codes (the only place that exits).
import { CommanderError } from "commander";
import { ExitCode, exitCodeOf, SysconfigError } from "../reconciler/errors.js";
import { processIo, type CliIo } from "./io.js";
import { buildProgram } from "./program.js";

async function main(argv: string[]): Promise<number> {
  let io: CliIo | undefined;
  const getIo = () => (io ??= processIo(argv.includes("--verbose") || process.env.SYSCONFIG_VERBOSE === "1"));
  const program = buildProgram(getIo);
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors are invalid input (commander already printed them).
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.invalid;
    }
    report(error);
    return exitCodeOf(error);
  }
}

function report(error: unknown): void {
  if (error instanceof SysconfigError) {
    if (error.exitCode === ExitCode.changesPending) return;
    process.stderr.write(`sysconfig: ${error.message}\n`);
    if (process.env.SYSCONFIG_VERBOSE === "1" && error.cause !== undefined) {
      process.stderr.write(
        `cause: ${error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : JSON.stringify(error.cause)}\n`,
      );
    }
    return;
  }
  process.stderr.write(
    `sysconfig: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
}

process.exitCode = await main(process.argv);
