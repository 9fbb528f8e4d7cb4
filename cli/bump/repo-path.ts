// Keeps a bump's reads and writes inside the config repo: a checked-in symlink (rendered/ → /etc, or
// templates/web.docker.hbs → ~/.ssh/id_rsa) must not make the bump write outside it or print what it points at.
import { lstat } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../reconciler/errors.js";

/** Refuses `file` (relative to `dir`) when it or a directory on the way to it is a symlink. */
export async function refuseSymlinks(dir: string, file: string): Promise<void> {
  const parts = file.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join("/");
    const info = await lstat(path.join(dir, rel)).catch(() => undefined);
    if (info === undefined) return;
    if (info.isSymbolicLink()) {
      throw new InvalidInputError(
        `${file} bump failed: ${rel} in the config repo is a symlink; a bump reads and writes only real files ` +
          `inside the repo. Replace the symlink with the file itself (git rm it, commit the real file). ` +
          `Nothing was changed.`,
      );
    }
  }
}
