// Reads the config repo at HEAD straight from git objects (never the working tree): the tracked
// files, the commit and its time, the branch, the source URL, and whether the tree is clean.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { InvalidInputError, reasonOf, RuntimeFailureError } from "../../reconciler/errors.js";
import type { TarEntry } from "./tar.js";

const execFileAsync = promisify(execFile);

export interface GitSnapshot {
  revision: string;
  /** Commit time (committer date) as an ISO-8601 UTC string. */
  created: string;
  /** The commit's subject (first line of its message). */
  subject: string;
  /** The checked-out branch, or undefined on a detached HEAD. */
  branch: string | undefined;
  /** Where the repo comes from: the `origin` URL without credentials, else a file:// URL. */
  source: string;
  /** Tracked files at HEAD, as tar entries. */
  files: TarEntry[];
  /** Submodules and other entries that cannot be baked, by path. */
  skipped: string[];
}

async function git(repoDir: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", args, { cwd: repoDir, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    throw new RuntimeFailureError(`git ${args[0]} in ${repoDir} failed: ${reasonOf(error).trim()}`, {
      cause: error,
    });
  }
}

/** `git status --porcelain` lines: modified, staged and untracked paths (ignored files excluded). */
export async function dirtyPaths(repoDir: string): Promise<string[]> {
  const out = await git(repoDir, ["status", "--porcelain=v1", "--untracked-files=all"]);
  return out.split("\n").filter((line) => line.trim() !== "");
}

/** Strips user:password@ from an https remote so tokens never land in image labels. */
export function publicSourceUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:" || parsed.protocol === "ssh:") {
      parsed.username = "";
      parsed.password = "";
      return parsed.toString();
    }
  } catch {
    // scp-like git@host:path is not a URL and carries no password.
  }
  return url;
}

async function sourceOf(repoDir: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", ["remote", "get-url", "origin"], { cwd: repoDir });
    const url = stdout.trim();
    if (url !== "") return publicSourceUrl(url);
  } catch {
    // No origin: a local repo.
  }
  return `file://${repoDir}`;
}

interface TreeEntry {
  mode: string;
  type: string;
  object: string;
  path: string;
}

function parseTree(out: string): TreeEntry[] {
  return out
    .split("\0")
    .filter((record) => record !== "")
    .map((record) => {
      const tab = record.indexOf("\t");
      const [mode = "", type = "", object = ""] = record.slice(0, tab).split(" ");
      return { mode, type, object, path: record.slice(tab + 1) };
    });
}

/** Reads blobs through one `git cat-file --batch` process. */
function readBlobs(repoDir: string, objects: readonly string[]): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], { cwd: repoDir, stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) =>
      reject(
        new RuntimeFailureError(`git cat-file in ${repoDir} failed: ${error.message}`, { cause: error }),
      ),
    );
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new RuntimeFailureError(`git cat-file in ${repoDir} failed: exit ${code}: ${stderr.trim()}`));
        return;
      }
      const out = Buffer.concat(chunks);
      const blobs = new Map<string, Buffer>();
      let offset = 0;
      while (offset < out.length) {
        const newline = out.indexOf(0x0a, offset);
        const [object = "", , size = "0"] = out.subarray(offset, newline).toString().split(" ");
        const start = newline + 1;
        const end = start + Number(size);
        blobs.set(object, out.subarray(start, end));
        offset = end + 1;
      }
      resolve(blobs);
    });
    child.stdin.end(objects.map((o) => `${o}\n`).join(""));
  });
}

/** Snapshot of HEAD; throws InvalidInputError when `repoDir` is not a git repo with a commit. */
export async function snapshotHead(repoDir: string): Promise<GitSnapshot> {
  let revision: string;
  try {
    revision = (await git(repoDir, ["rev-parse", "--verify", "HEAD^{commit}"])).trim();
  } catch (error) {
    throw new InvalidInputError(
      `${repoDir} has no commit to build: sysconfig build bakes the config repo at HEAD, so run it in a git checkout with at least one commit.`,
      { cause: error },
    );
  }
  const [time = "", subject = ""] = (await git(repoDir, ["show", "-s", "--format=%ct%x00%s", revision]))
    .replace(/\n$/, "")
    .split("\0");
  const seconds = Number(time);
  const branchName = (await git(repoDir, ["rev-parse", "--abbrev-ref", "HEAD"])).trim();
  const tree = parseTree(await git(repoDir, ["ls-tree", "-r", "-z", "--full-tree", revision]));
  const blobs = tree.filter((e) => e.type === "blob");
  const contents = await readBlobs(
    repoDir,
    blobs.map((e) => e.object),
  );
  const files: TarEntry[] = blobs.map((e) => {
    const content = contents.get(e.object) ?? Buffer.alloc(0);
    return e.mode === "120000"
      ? { path: e.path, linkTarget: content.toString() }
      : { path: e.path, content, executable: e.mode === "100755" };
  });
  return {
    revision,
    created: new Date(seconds * 1000).toISOString(),
    subject,
    branch: branchName === "HEAD" ? undefined : branchName,
    source: await sourceOf(repoDir),
    files,
    skipped: tree.filter((e) => e.type !== "blob").map((e) => e.path),
  };
}
