// Writes a render (or a bump's files) into the config repo: every path is checked to stay inside the repo
// and to have no directory (or file) in its way before the first write, then each file is written
// atomically (temp + rename; a failed write removes its temp file) and stale files are removed.
import { lstat, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fsCode, inTheWay, repoFsError } from "../repo-files.js";
import { resolveInRepo } from "../repo-paths.js";
import type { StaleFile } from "./compare.js";

/** Refuses before anything is written: a directory where the file goes, or a file where a directory goes. */
async function checkWritable(real: string, relative: string): Promise<void> {
  const info = await lstat(real).catch((error: unknown) => {
    if (fsCode(error) === "ENOENT") return undefined;
    throw repoFsError(relative, "write", error);
  });
  if (info?.isDirectory()) throw inTheWay(relative, "write", "EISDIR");
  if (info === undefined) {
    // Every existing parent must be a directory (resolveInRepo already resolved any symlink among them).
    for (let dir = path.dirname(real); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const parent = await lstat(dir).catch(() => undefined);
      if (parent === undefined) continue;
      if (!parent.isDirectory()) throw inTheWay(relative, "write", "ENOTDIR");
      break;
    }
  }
}

async function writeAtomically(real: string, relative: string, content: string): Promise<void> {
  const temp = `${real}.tmp-${process.pid}`;
  try {
    await mkdir(path.dirname(real), { recursive: true });
    await writeFile(temp, content);
    await rename(temp, real);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw repoFsError(relative, "write", error);
  }
}

export async function writeRendered(repoDir: string, stale: readonly StaleFile[]): Promise<void> {
  const targets: { file: StaleFile; destination: string }[] = [];
  for (const file of stale) {
    // Both the path and its directory must stay inside the repo; the write or removal then replaces the
    // entry itself (a symlink there is replaced, never written through).
    await resolveInRepo(repoDir, file.path);
    const dir = await resolveInRepo(repoDir, path.posix.dirname(file.path));
    const destination = path.join(dir, path.posix.basename(file.path));
    if (file.expected !== undefined) await checkWritable(destination, file.path);
    targets.push({ file, destination });
  }
  for (const { file, destination } of targets) {
    if (file.expected === undefined) {
      await rm(destination, { force: true }).catch((error: unknown) => {
        throw repoFsError(file.path, "remove", error);
      });
    } else {
      await writeAtomically(destination, file.path, file.expected);
    }
  }
}
