// Finds what a Markdown page names that does not exist: relative links to missing files or anchors, repo
// paths (backticked or plain, outside code blocks) and bare source file names that were moved or renamed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** Top folders of this repository whose paths the docs may name; other paths belong to a config repo. */
const REPO_FOLDERS = ["reconciler", "cli", "scripts", "test", "bench", "sysconfig-example", "demo", "docs"];
const REPO_PATH = new RegExp(`^(?:${REPO_FOLDERS.join("|")})/[A-Za-z0-9_.@/-]*$`);
const PLAIN_PATH = /(?<![\w./-])((?:reconciler|cli|scripts|test|bench)\/[\w./@-]+\.(?:ts|sh|js))\b/g;
/** A source file named alone (`wait.ts`, as in a table of a folder's files). */
const BARE_NAME = /^[\w.-]+\.(?:ts|sh)$/;

const namesCache = new Map<string, Set<string>>();
/** The names of every file in the repository's folders. */
function sourceNames(root: string): Set<string> {
  const cached = namesCache.get(root);
  if (cached) return cached;
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
      else names.add(entry.name);
    }
  };
  for (const folder of REPO_FOLDERS) if (existsSync(path.join(root, folder))) walk(folder);
  namesCache.set(root, names);
  return names;
}

/** The page without its fenced code blocks (kept as empty lines, so line numbers stay). */
function withoutCodeBlocks(text: string): string[] {
  let inCode = false;
  return text.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      inCode = !inCode;
      return "";
    }
    return inCode ? "" : line;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
export function slugOf(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}_ -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a Markdown page offers (duplicates numbered as GitHub does). */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCodeBlocks(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = slugOf(heading[1] ?? "");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The problems of one page at `file` (relative to `root`), one line each: "file:line: what". */
export function linkProblems(root: string, file: string, text: string): string[] {
  const problems: string[] = [];
  const dir = path.dirname(path.join(root, file));
  withoutCodeBlocks(text).forEach((line, index) => {
    const where = `${file}:${index + 1}`;
    for (const match of line.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1] ?? "";
      if (/^[a-z]+:/i.test(target)) continue;
      const [pathPart = "", anchor] = target.split("#");
      if (pathPart === "") {
        if (!anchorsOf(text).has(anchor ?? ""))
          problems.push(`${where}: link ${target}: ${file} has no heading ${target}`);
        continue;
      }
      const resolved = path.join(dir, decodeURIComponent(pathPart));
      if (!existsSync(resolved)) {
        problems.push(`${where}: link ${target}: no such file ${path.relative(root, resolved)}`);
      } else if (anchor !== undefined && resolved.endsWith(".md")) {
        if (!anchorsOf(readFileSync(resolved, "utf8")).has(anchor)) {
          problems.push(
            `${where}: link ${target}: ${path.relative(root, resolved)} has no heading #${anchor}`,
          );
        }
      }
    }
    const named = new Set<string>();
    for (const match of line.matchAll(/`([^`]+)`/g)) {
      const span = (match[1] ?? "").replace(/[.,:;]$/, "");
      if (REPO_PATH.test(span)) named.add(span);
      else if (BARE_NAME.test(span) && !sourceNames(root).has(span)) {
        problems.push(`${where}: file name ${span} is no file of this repository`);
      }
    }
    for (const match of line.replace(/`[^`]*`/g, "").matchAll(PLAIN_PATH)) named.add(match[1] ?? "");
    for (const name of named) {
      if (!existsSync(path.join(root, name))) problems.push(`${where}: path ${name} does not exist`);
    }
  });
  return problems;
}
