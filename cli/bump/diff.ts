// The bump's diff as the reviewer will see it in git: one unified diff per changed file.
import { createTwoFilesPatch } from "diff";
import type { FileChange } from "./plan.js";

export function unifiedDiff(changes: readonly FileChange[]): string {
  return changes
    .map((c) =>
      createTwoFilesPatch(
        c.before === undefined ? "/dev/null" : `a/${c.path}`,
        c.after === undefined ? "/dev/null" : `b/${c.path}`,
        c.before ?? "",
        c.after ?? "",
        undefined,
        undefined,
        { context: 3 },
      ).replace(/^=+\n/, ""),
    )
    .join("");
}
