// Writes a bump plan into the checkout (the only bump step that touches files); returns the paths for `git add`.
import { writeRendered } from "../../reconciler/render/write.js";
import type { FileChange } from "./plan.js";

export async function applyChanges(dir: string, changes: readonly FileChange[]): Promise<string[]> {
  await writeRendered(
    dir,
    changes.map((c) => ({ path: c.path, expected: c.after, actual: c.before })),
  );
  return changes.map((c) => c.path);
}
