// The one containment rule for the config repo's content: every path that comes from the config or from
// the repo (sysconfig.yaml, a service's templates, rendered/ and what is in it, the build info) must resolve,
// symlinks included, inside the repo and outside its .git — else the command refuses (exit 3) before it
// reads or writes anything. A committed symlink (rendered → /etc, templates/x.hbs → ~/.ssh/id_rsa) or a
// template path like /tmp/secret or ../../secret would otherwise let a pull request make render write or
// delete elsewhere, or print another file's contents in a CI log.
import { lstat, readlink, realpath } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, reasonOf } from "./errors.js";

/** How many symlinks one path may go through before it is refused (the kernel's own limit is 40). */
const MAX_LINKS = 40;

/** The `code` of a Node.js system error (ENOENT, EISDIR, …). */
export function fsCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}

/** True when `inner` is `outer` or below it. */
function isWithin(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === "" || (!rel.startsWith(`..${path.sep}`) && rel !== ".." && !path.isAbsolute(rel));
}

/**
 * The real location of `absolute`: symlinks resolved as far as the path exists, the rest appended. A
 * dangling symlink is followed to where it points, so a write through it is judged by where it would land.
 */
async function realLocation(absolute: string, links = 0): Promise<string> {
  const missing: string[] = [];
  let at = absolute;
  for (;;) {
    try {
      return path.join(await realpath(at), ...missing);
    } catch (error) {
      const code = fsCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
    }
    const info = await lstat(at).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      if (links >= MAX_LINKS) throw Object.assign(new Error("too many symbolic links"), { code: "ELOOP" });
      const target = path.resolve(path.dirname(at), await readlink(at));
      return realLocation(path.join(target, ...missing), links + 1);
    }
    const parent = path.dirname(at);
    if (parent === at) return path.join(at, ...missing);
    missing.unshift(path.basename(at));
    at = parent;
  }
}

/** How the check names the path in its refusal, and what it tells the operator to do. */
export interface RepoPathLabel {
  /** e.g. `services.web.templates.docker` when the path is a value of sysconfig.yaml. */
  from?: string;
  /** How the path is shown; default: `relative`. */
  shown?: string;
  /** Which repo it must stay in; default "the config repo". */
  repo?: string;
  /** What to do instead; default: replace the symlink, or give a relative path inside the repo. */
  fix?: string;
}

/**
 * The absolute real path of `relative` (a path inside the repo `repoDir`, which need not exist yet).
 * Throws InvalidInputError naming the path when it is absolute, climbs out with `..`, goes through a
 * symlink that leads outside the repo or into its .git, or loops.
 */
export async function resolveInRepo(
  repoDir: string,
  relative: string,
  label: RepoPathLabel = {},
): Promise<string> {
  const shown = label.shown ?? relative;
  const named = label.from === undefined ? shown : `${label.from}: ${shown}`;
  const repo = label.repo ?? "the config repo";
  const fix =
    label.fix ??
    (label.from === undefined
      ? `Replace the symlink with the real file or directory inside ${repo} (git rm it, commit the real one).`
      : `Put the file inside ${repo} and give its path relative to the repo (e.g. templates/web.docker.hbs).`);
  const refuse = (reason: string, cause?: unknown) =>
    new InvalidInputError(
      `${named} refused: ${reason}. sysconfig reads and writes only files inside ${repo}. ${fix} ` +
        `Nothing was changed.`,
      { cause },
    );
  if (path.isAbsolute(relative)) throw refuse("it is an absolute path");
  const root = await realpath(repoDir).catch(() => path.resolve(repoDir));
  const lexical = path.resolve(root, relative);
  if (!isWithin(root, lexical)) throw refuse(`it climbs out of the repo (to ${lexical})`);
  let real: string;
  try {
    real = await realLocation(lexical);
  } catch (error) {
    throw fsCode(error) === "ELOOP"
      ? refuse("it goes through a loop of symbolic links", error)
      : refuse(`it cannot be resolved (${reasonOf(error)})`, error);
  }
  if (!isWithin(root, real))
    throw refuse(`it is a symlink, or goes through one, leading outside the repo (to ${real})`);
  if (isWithin(path.join(root, ".git"), real)) {
    throw refuse(`it leads into the repo's .git directory (${real}), which is git's, not the config's`);
  }
  return real;
}
