// Compares what is committed under rendered/ with a fresh render: the basis of render --check,
// validate and build's staleness refusal.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createTwoFilesPatch } from "diff";
import { mapBounded } from "../apply/pool.js";
import { maskSecrets } from "../plan/mask.js";
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

async function listRendered(repoDir: string): Promise<string[]> {
  try {
    const entries = await readdir(path.join(repoDir, RENDERED_DIR), { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => `${RENDERED_DIR}/${e.name}`);
  } catch {
    return [];
  }
}

async function readIfExists(file: string, label: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return undefined;
  }
  return decodeUtf8(bytes, label, "sysconfig render writes it: remove it and run 'sysconfig render' again");
}

export async function findStale(repoDir: string, files: readonly RenderedFile[]): Promise<StaleFile[]> {
  const stale: StaleFile[] = [];
  const expectedPaths = new Set(files.map((f) => f.path));
  // Reads overlap (one at a time, 1,000 small files took ~0.6 s): order is restored by the sort below.
  const actuals = await mapBounded(files, READ_PARALLELISM, (file) =>
    readIfExists(path.join(repoDir, file.path), file.path),
  );
  files.forEach((file, i) => {
    const actual = actuals[i];
    if (actual !== file.content) stale.push({ path: file.path, expected: file.content, actual });
  });
  for (const existing of await listRendered(repoDir)) {
    if (!expectedPaths.has(existing)) {
      stale.push({
        path: existing,
        expected: undefined,
        actual: await readIfExists(path.join(repoDir, existing), existing),
      });
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
