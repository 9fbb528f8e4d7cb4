// Run settings the kubernetes target reads from the environment, where the CLI puts its flags
// (--context → SYSCONFIG_CONTEXT, --force-conflicts → SYSCONFIG_FORCE_CONFLICTS), as every flag is.
import { InvalidInputError } from "../../errors.js";

/** 1/true/yes, 0/false/no (any case) or unset; anything else is invalid input. */
export function parseBooleanWord(raw: string | undefined, name: string): boolean {
  const word = (raw ?? "").trim().toLowerCase();
  if (word === "" || word === "0" || word === "false" || word === "no") return false;
  if (word === "1" || word === "true" || word === "yes") return true;
  throw new InvalidInputError(
    `${name}=${JSON.stringify(raw)} is not a boolean: use 1/true/yes or 0/false/no.`,
  );
}
