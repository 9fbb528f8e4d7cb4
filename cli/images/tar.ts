// Deterministic tar archives for build contexts: entries sorted, parent directories explicit,
// one fixed mtime, owner 0:0, fixed modes — the same inputs give byte-identical archives.
import { pack } from "tar-stream";

export interface TarFile {
  /** Relative path with `/` separators, no leading `./`. */
  path: string;
  content: Buffer | string;
  executable?: boolean;
}

export interface TarSymlink {
  path: string;
  linkTarget: string;
}

/** An explicit (possibly empty) directory. */
export interface TarDirectory {
  path: string;
  directory: true;
}

export type TarEntry = TarFile | TarSymlink | TarDirectory;

const FILE_MODE = 0o644;
const EXECUTABLE_MODE = 0o755;
const DIR_MODE = 0o755;

function isSymlink(entry: TarEntry): entry is TarSymlink {
  return "linkTarget" in entry;
}

/** Every directory that must exist for `paths`, without the root. */
function parentDirectories(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return [...dirs];
}

function checkPath(p: string): void {
  if (
    p === "" ||
    p.startsWith("/") ||
    p.split("/").some((part) => part === ".." || part === "." || part === "")
  ) {
    throw new Error(`tar entry path '${p}' is not a clean relative path`);
  }
}

/** Byte order, not locale order: the same on every machine. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Packs `entries` (plus their parent directories) into one tar buffer, every entry dated `mtime`. */
export async function deterministicTar(entries: readonly TarEntry[], mtime: Date): Promise<Buffer> {
  for (const entry of entries) checkPath(entry.path);
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.path)) throw new Error(`tar entry path '${entry.path}' appears twice`);
    seen.add(entry.path);
  }
  const dirs = parentDirectories(entries.map((e) => e.path)).filter((d) => !seen.has(d));
  const all: TarEntry[] = [...entries, ...dirs.map((d) => ({ path: d, directory: true as const }))];
  all.sort((a, b) => compareBytes(a.path, b.path));

  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on("data", (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    archive.on("end", resolve);
    archive.on("error", reject);
  });
  const common = { mtime, uid: 0, gid: 0, uname: "", gname: "" };
  for (const entry of all) {
    if ("directory" in entry) {
      archive.entry({ ...common, name: `${entry.path}/`, type: "directory", mode: DIR_MODE });
    } else if (isSymlink(entry)) {
      archive.entry({
        ...common,
        name: entry.path,
        type: "symlink",
        linkname: entry.linkTarget,
        mode: 0o777,
      });
    } else {
      const content = typeof entry.content === "string" ? Buffer.from(entry.content) : entry.content;
      archive.entry(
        { ...common, name: entry.path, type: "file", mode: entry.executable ? EXECUTABLE_MODE : FILE_MODE },
        content,
      );
    }
  }
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}
