// Writes a render into rendered/: every file atomically (temp + rename), stale files removed.
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { StaleFile } from "./compare.js";

export async function writeRendered(repoDir: string, stale: readonly StaleFile[]): Promise<void> {
  for (const file of stale) {
    const target = path.join(repoDir, file.path);
    if (file.expected === undefined) {
      await rm(target, { force: true });
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}`;
    await writeFile(temp, file.expected);
    await rename(temp, target);
  }
}
