// Typed errors: each maps to one exit code of DESIGN §3. Only the CLI entry turns them into exits.

export const ExitCode = {
  ok: 0,
  failed: 1,
  changesPending: 2,
  invalid: 3,
  refused: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message for the operator, an exit code, and the original error as `cause`. */
export abstract class SysconfigError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input or config: nothing was changed (exit 3). `issues` lists every problem found. */
export class InvalidInputError extends SysconfigError {
  readonly exitCode = ExitCode.invalid;
  readonly issues: readonly string[];
  constructor(message: string, options?: { cause?: unknown; issues?: readonly string[] }) {
    super(message, options);
    this.issues = options?.issues ?? [];
  }
}

/** Refused by a safety rule (stale tag, prune limit, lock held): nothing was changed (exit 4). */
export class SafetyRefusalError extends SysconfigError {
  readonly exitCode = ExitCode.refused;
  readonly rule: string;
  constructor(rule: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.rule = rule;
  }
}

/** A run-time failure of git, a registry, the network or a target (exit 1). */
export class RuntimeFailureError extends SysconfigError {
  readonly exitCode = ExitCode.failed;
  /** Transient failures (connection reset, 429, 5xx) may be retried; permanent ones may not. */
  readonly transient: boolean;
  constructor(message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options);
    this.transient = options?.transient ?? false;
  }
}

/** A bug in sysconfig itself (exit 1), reported with its cause. */
export class InternalError extends SysconfigError {
  readonly exitCode = ExitCode.failed;
}

/** Plan found changes and the caller asked for a detailed exit code (exit 2). Not a failure. */
export class ChangesPendingSignal extends SysconfigError {
  readonly exitCode = ExitCode.changesPending;
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof SysconfigError ? error.exitCode : ExitCode.failed;
}

/** The message of any thrown value, for wrapping as `<subject> <operation> failed: <reason>`. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
