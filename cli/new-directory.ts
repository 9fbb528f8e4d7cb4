// Creates a directory and its missing parents one level at a time, so every refusal surfaces at once.
// Node's mkdir({recursive: true}) loops for ever at 100% CPU where mkdir answers ENOENT although the parent
// exists (procfs: `sysconfig init /proc/x` spun for minutes); here each level is one mkdir, checked.
import { lstat, mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, reasonOf } from "../reconciler/errors.js";
import { escapeControls } from "../reconciler/text/escape.js";

/**
 * Makes `dir` (absolute). Resolves the first directory created (to remove on failure), or undefined when
 * `dir` already existed as a directory. `refuse` builds the exit-3 error from a reason.
 */
export async function makeDirectory(
  dir: string,
  refuse: (reason: string, cause?: unknown) => InvalidInputError,
): Promise<string | undefined> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    try {
      await lstat(at);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw refuse(`cannot look at ${escapeControls(at)} (${reasonOf(error)})`, error);
      }
    }
    const parent = path.dirname(at);
    if (parent === at) throw refuse(`no part of the path exists`);
    missing.unshift(at);
    at = parent;
  }
  let info;
  try {
    info = await stat(at);
  } catch (error) {
    throw refuse(`cannot look at ${escapeControls(at)} (${reasonOf(error)})`, error);
  }
  if (!info.isDirectory()) throw refuse(`${escapeControls(at)} is not a directory`);
  let first: string | undefined;
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      if (first !== undefined) await rm(first, { recursive: true, force: true }).catch(() => undefined);
      throw refuse(`cannot create ${escapeControls(level)} (${reasonOf(error)})`, error);
    }
    first ??= level;
  }
  return first;
}
