// What every target's apply does alike around its own writes: the actions that send nothing, a refusal
// whose message is already complete, and a failure said as `<subject> <action> failed: <reason>`.
import { InternalError, RuntimeFailureError } from "../errors.js";
import type { Action, Change } from "../model.js";

/** The actions a target sends nothing for; the engine waits for an unhealthy object itself. */
export type NoOpAction = Extract<Action, "unchanged" | "unhealthy" | "unmanaged">;

export function sendsNothing(action: Action): action is NoOpAction {
  return action === "unchanged" || action === "unhealthy" || action === "unmanaged";
}

/** A change refused at apply time; its message is already complete. */
export class NotTouchedError extends RuntimeFailureError {}

/** The error a failed change throws: complete ones as they are, others as `<subject> <action> failed: <reason>`. */
export function changeFailure(change: Change, error: unknown, reason: string): Error {
  if (error instanceof InternalError || error instanceof NotTouchedError) return error;
  return new RuntimeFailureError(`${change.subject} ${change.action} failed: ${reason}`, {
    cause: error,
    transient: error instanceof RuntimeFailureError && error.transient,
  });
}
