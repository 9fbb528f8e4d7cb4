// Rebuilds an error with credentials redacted from its message and its cause, keeping its class and exit code
// (the cause is printed with --verbose, and git's messages may quote the URL with its token).
import {
  InternalError,
  InvalidInputError,
  RuntimeFailureError,
  SafetyRefusalError,
  SysconfigError,
} from "../../reconciler/errors.js";

export function redactedError(error: unknown, redact: (text: string) => string): SysconfigError {
  const cause = redactedCause(error instanceof Error ? error.cause : undefined, redact);
  if (error instanceof InvalidInputError) {
    return new InvalidInputError(redact(error.message), { cause, issues: error.issues.map(redact) });
  }
  if (error instanceof SafetyRefusalError)
    return new SafetyRefusalError(error.rule, redact(error.message), { cause });
  if (error instanceof RuntimeFailureError) {
    return new RuntimeFailureError(redact(error.message), { cause, transient: error.transient });
  }
  if (error instanceof SysconfigError) return new InternalError(redact(error.message), { cause });
  return new InternalError(`bump failed: ${redact(error instanceof Error ? error.message : String(error))}`, {
    cause: redactedCause(error, redact),
  });
}

function redactedCause(cause: unknown, redact: (text: string) => string): Error | undefined {
  if (cause === undefined) return undefined;
  const text = cause instanceof Error ? cause.message : JSON.stringify(cause);
  const copy = new Error(redact(text));
  copy.stack = redact(cause instanceof Error ? (cause.stack ?? text) : text);
  return copy;
}
