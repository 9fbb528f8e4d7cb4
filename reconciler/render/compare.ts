// Compares what is committed under rendered/ with a fresh render: the basis of render --check,
// validate and build's staleness refusal. rendered/ and everything in it must stay inside the repo
// (repo-paths.ts): a symlink leading out is refused before any of it is read.
import { readFileSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { createTwoFilesPatch } from "../text/two-files-patch.js";
import { mapBounded } from "../concurrency/pool.js";
import { InvalidInputError } from "../errors.js";
import { maskSecrets } from "../text/mask.js";
import { checkRegularFile, fsCode, repoFsError } from "../repo-files.js";
import { resolveInRepo } from "../repo-paths.js";
import type { RenderedFile } from "./render.js";
import { RENDERED_DIR } from "./templates.js";
import { decodeUtf8 } from "../text/utf8.js";
import { escapeForTerminal } from "../text/escape.js";

export interface StaleFile {
  path: string;
  /** What rendering produces now; undefined when the committed file should not exist. */
  expected: string | undefined;
  /** What is on disk; undefined when it is missing. */
  actual: string | undefined;
}

const READ_PARALLELISM = 32;

interface RenderedListing {
  /** Files in rendered/ (repo-relative path → where to read it, symlinks already resolved inside the repo). */
  files: Map<string, string>;
  /** Those of them the listing already knows are regular files (no symlink): read without a stat first. */
  regular: Set<string>;
  /** Directories (or symlinks to directories) in rendered/, by repo-relative path. */
  directories: Set<string>;
}

/** What is directly in rendered/, after checking the directory and every symlink in it stay inside the repo. */
async function listRendered(repoDir: string): Promise<RenderedListing> {
  const real = await resolveInRepo(repoDir, RENDERED_DIR);
  const listing: RenderedListing = { files: new Map(), regular: new Set(), directories: new Set() };
  let entries;
  try {
    entries = await readdir(real, { withFileTypes: true });
  } catch (error) {
    if (fsCode(error) === "ENOENT") return listing;
    if (fsCode(error) === "ENOTDIR") {
      throw new InvalidInputError(
        `${RENDERED_DIR} is a file, but sysconfig keeps the rendered services in a directory of that name. ` +
          `Remove it (git rm ${RENDERED_DIR}), run 'sysconfig render' and commit the result. Nothing was changed.`,
        { cause: error },
      );
    }
    throw repoFsError(RENDERED_DIR, "read", error);
  }
  for (const entry of entries) {
    const relative = `${RENDERED_DIR}/${entry.name}`;
    if (entry.isSymbolicLink()) {
      // Where it leads decides what it is; leading out of the repo is refused right here.
      const target = await resolveInRepo(repoDir, relative);
      const info = await stat(target).catch(() => undefined);
      if (info?.isDirectory()) listing.directories.add(relative);
      else if (info !== undefined) listing.files.set(relative, target);
    } else if (entry.isDirectory()) listing.directories.add(relative);
    else {
      listing.files.set(relative, path.join(real, entry.name));
      if (entry.isFile()) listing.regular.add(relative);
    }
  }
  return listing;
}

async function readListed(listing: RenderedListing, relative: string): Promise<string | undefined> {
  const file = listing.files.get(relative);
  if (file === undefined) return undefined;
  try {
    // A small file read at once costs less than the round trips of an async stat and readFile (1,000
    // rendered files: 5,000 thread-pool hops); only what the listing could not tell is stat'ed first.
    if (!listing.regular.has(relative)) await checkRegularFile(file, relative);
    return decodeUtf8(readFileSync(file), relative);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw repoFsError(relative, "read", error);
  }
}

function directoryInTheWay(relative: string): InvalidInputError {
  return new InvalidInputError(
    `${relative} is a directory, but sysconfig renders a file there. Remove it (git rm -r ${relative}), run ` +
      `'sysconfig render' and commit the result. Nothing was changed.`,
  );
}

export async function findStale(repoDir: string, files: readonly RenderedFile[]): Promise<StaleFile[]> {
  const stale: StaleFile[] = [];
  const expectedPaths = new Set(files.map((f) => f.path));
  const listing = await listRendered(repoDir);
  for (const file of files) if (listing.directories.has(file.path)) throw directoryInTheWay(file.path);
  // Reads overlap (one at a time, 1,000 small files took ~0.6 s): order is restored by the sort below.
  const actuals = await mapBounded(files, READ_PARALLELISM, (file) => readListed(listing, file.path));
  files.forEach((file, i) => {
    const actual = actuals[i];
    if (actual !== file.content) stale.push({ path: file.path, expected: file.content, actual });
  });
  for (const existing of listing.files.keys()) {
    if (!expectedPaths.has(existing)) {
      stale.push({ path: existing, expected: undefined, actual: await readListed(listing, existing) });
    }
  }
  return stale.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * A unified diff from the committed file to the fresh render, with the values of secret-looking
 * variables masked on both sides (a changed secret still shows as a changed fingerprint) and control
 * characters (a hand-edited file) shown escaped.
 */
export function staleDiff(file: StaleFile): string {
  return createTwoFilesPatch(
    file.actual === undefined ? "/dev/null" : `a/${file.path}`,
    file.expected === undefined ? "/dev/null" : `b/${file.path}`,
    escapeForTerminal(maskSecrets(file.actual ?? "")),
    escapeForTerminal(maskSecrets(file.expected ?? "")),
    undefined,
    undefined,
    { context: 3 },
  );
}
