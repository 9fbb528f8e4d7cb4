// A temporary directory for a clone that is removed however the process ends (normal end, error, SIGINT/SIGTERM).
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stopAllNetworkGit } from "./network-git.js";

export interface TempDir {
  dir: string;
  dispose(): Promise<void>;
}

export async function createTempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const onSignal = (signal: NodeJS.Signals) => {
    detach();
    // A git clone still running would re-create the directory after it is removed (git makes the leading
    // directories of what it writes): stop git and its helpers first, then remove.
    void stopAllNetworkGit().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      // Re-raise with the default handler gone, so the process still ends the way the signal asked.
      process.kill(process.pid, signal);
    });
  };
  const detach = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    dir,
    async dispose() {
      detach();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
