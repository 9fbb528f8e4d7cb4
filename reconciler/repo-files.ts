// Reads the config repo's files through the containment rule (repo-paths.ts), and turns any filesystem
// error on repo content (a directory where a file belongs, a file where a directory belongs, no permission)
// into an InvalidInputError that names the path and says what to fix — never a stack trace.
import { readFile, stat } from "node:fs/promises";
import { decodeUtf8 } from "./text/utf8.js";
import { InvalidInputError, reasonOf, RuntimeFailureError } from "./errors.js";
import { fsCode, resolveInRepo, type RepoPathLabel } from "./repo-paths.js";

export { fsCode };

/** Errors that mean the repo's content is in the way (exit 3), as opposed to a failing disk (exit 1). */
const CONTENT_PROBLEMS: Record<string, string> = {
  EISDIR: "it is a directory where sysconfig expects a file: remove or rename it",
  ENOTDIR: "a part of the path is a file where sysconfig expects a directory: remove or rename that file",
  EEXIST: "a file is in the way of a directory sysconfig needs: remove or rename it",
  EACCES: "permission denied: make it readable and writable by the user running sysconfig",
  EPERM: "operation not permitted: make it writable by the user running sysconfig",
  EROFS: "the file system is read-only: run sysconfig in a writable checkout",
  ENAMETOOLONG: "the path is too long",
  ELOOP: "it goes through a loop of symbolic links: replace them with real files",
};

/** `<path> <operation> failed: <what to fix>`, exit 3 for content problems, exit 1 for the rest. */
export function repoFsError(relative: string, operation: string, error: unknown): Error {
  const code = fsCode(error);
  if (code !== undefined && code in CONTENT_PROBLEMS) return inTheWay(relative, operation, code, error);
  return new RuntimeFailureError(`${relative} ${operation} failed: ${reasonOf(error)}`, { cause: error });
}

/** The content problem `code` (EISDIR, ENOTDIR, …) found at `relative`, found by a check or by a failed call. */
export function inTheWay(
  relative: string,
  operation: string,
  code: string,
  cause?: unknown,
): InvalidInputError {
  return new InvalidInputError(
    `${relative} ${operation} failed: ${CONTENT_PROBLEMS[code] ?? code} (${code}). Nothing was changed.`,
    { cause },
  );
}

/** A repo file's text, or undefined when it does not exist; refuses paths leading out of the repo. */
export async function readRepoText(
  repoDir: string,
  relative: string,
  label: RepoPathLabel = {},
  maxBytes?: number,
): Promise<string | undefined> {
  const real = await resolveInRepo(repoDir, relative, label);
  try {
    const size = await checkRegularFile(real, relative);
    if (maxBytes !== undefined && size > maxBytes) {
      throw new InvalidInputError(
        `${relative} read failed: it is ${size} bytes, more than sysconfig reads for such a file ` +
          `(${maxBytes} bytes). Nothing was changed.`,
      );
    }
    return decodeUtf8(await readFile(real), relative);
  } catch (error) {
    if (fsCode(error) === "ENOENT") return undefined;
    if (error instanceof InvalidInputError) throw error;
    throw repoFsError(relative, "read", error);
  }
}

/** Refuses a directory, FIFO, socket or device where a file belongs (reading a FIFO would block for ever). */
export async function checkRegularFile(real: string, relative: string): Promise<number> {
  const info = await stat(real);
  if (info.isDirectory()) throw inTheWay(relative, "read", "EISDIR");
  if (!info.isFile()) {
    throw new InvalidInputError(
      `${relative} read failed: it is not a regular file (a FIFO, socket or device). Replace it with the ` +
        `file sysconfig expects. Nothing was changed.`,
    );
  }
  return info.size;
}
