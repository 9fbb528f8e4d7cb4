// The bump's diff as the reviewer will see it in git: one unified diff per changed file, with the values
// of secret-looking variables masked the way the reconciler's plan masks them (a changed secret still shows),
// control characters shown escaped.
import { createTwoFilesPatch } from "diff";
import { maskSecrets } from "../../reconciler/text/mask.js";
import type { FileChange } from "./plan.js";
import { escapeForTerminal } from "../../reconciler/text/escape.js";

export function unifiedDiff(changes: readonly FileChange[]): string {
  return changes
    .map((c) =>
      createTwoFilesPatch(
        c.before === undefined ? "/dev/null" : `a/${c.path}`,
        c.after === undefined ? "/dev/null" : `b/${c.path}`,
        escapeForTerminal(maskSecrets(c.before ?? "")),
        escapeForTerminal(maskSecrets(c.after ?? "")),
        undefined,
        undefined,
        { context: 3 },
      ).replace(/^=+\n/, ""),
    )
    .join("");
}
