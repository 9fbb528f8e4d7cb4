// A temporary directory for a clone that is removed however the process ends (normal end, error, SIGINT/SIGTERM).
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { onInterruptCleanup } from "./interrupt.js";

export interface TempDir {
  dir: string;
  dispose(): Promise<void>;
}

export async function createTempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  // On SIGINT/SIGTERM: removed after the git processes still running are stopped (interrupt.ts).
  const unregister = onInterruptCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    async dispose() {
      // Unregistered only once removed: a signal arriving meanwhile still removes it before the process ends.
      await rm(dir, { recursive: true, force: true });
      unregister();
    },
  };
}
