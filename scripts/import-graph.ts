// Checks the import graph of the product code (reconciler/, cli/): no circle between files, and no
// arrow pointing up the floors below (a floor may import its own and lower floors only).
// Usage: node scripts/import-graph.ts [--print]   (exit 1 with the offending imports listed)
import fs from "node:fs";
import path from "node:path";

// Bottom to top. A file belongs to the floor of the longest prefix that matches its path.
const FLOORS: readonly (readonly string[])[] = [
  [
    "reconciler/errors.ts",
    "reconciler/plain-data.ts",
    "reconciler/http-body.ts",
    "reconciler/node-http.ts",
    "reconciler/text/",
    "reconciler/concurrency/",
  ],
  ["reconciler/secrets/"],
  ["reconciler/repo-paths.ts", "reconciler/repo-files.ts"],
  ["reconciler/config/", "reconciler/report/", "reconciler/registry/"],
  ["reconciler/render/"],
  ["reconciler/model.ts"],
  ["reconciler/targets/"],
  ["reconciler/targets/docker/", "reconciler/targets/fleet/", "reconciler/targets/kubernetes/"],
  ["reconciler/targets/create.ts", "reconciler/targets/check-rendered.ts"],
  ["reconciler/diff/"],
  ["reconciler/apply/"],
  ["reconciler/plan/"],
  ["reconciler/desired/"],
  ["reconciler/pipeline/"],
  ["reconciler/serve/"],
  ["reconciler/serve/ui/"],
  ["reconciler/serve/serve.ts"],
  ["cli/git/"],
  [
    "cli/io.ts",
    "cli/repo.ts",
    "cli/number-flags.ts",
    "cli/boolean-word.ts",
    "cli/new-directory.ts",
    "cli/std-streams.ts",
    "cli/json-document.ts",
    "cli/flag-rules.ts",
  ],
  ["cli/images/", "cli/bump/"],
  ["cli/commands/"],
  ["cli/program.ts"],
  ["cli/run.ts"],
  ["cli/main.ts", "cli/image.ts"],
];

const root = path.resolve(path.dirname(import.meta.filename), "..");
const files: string[] = [];
const walk = (dir: string): void => {
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) walk(rel);
    else if (rel.endsWith(".ts")) files.push(rel);
  }
};
["reconciler", "cli"].forEach(walk);

const floorOf = (file: string): number => {
  let best = { floor: -1, length: -1 };
  FLOORS.forEach((prefixes, floor) => {
    for (const prefix of prefixes) {
      const hit = prefix.endsWith("/") ? file.startsWith(prefix) : file === prefix;
      if (hit && prefix.length > best.length) best = { floor, length: prefix.length };
    }
  });
  return best.floor;
};

const imports = new Map<string, string[]>();
for (const file of files) {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  const targets: string[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    targets.push(
      path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1] ?? "")).replace(/\.js$/, ".ts"),
    );
  }
  imports.set(file, targets);
}

const problems: string[] = [];
for (const file of files) {
  if (floorOf(file) < 0) problems.push(`${file}: on no floor (add it to FLOORS in scripts/import-graph.ts)`);
}
for (const [file, targets] of imports) {
  for (const target of targets) {
    if (floorOf(target) > floorOf(file)) problems.push(`upward: ${file} -> ${target}`);
  }
}

// Circles between files (Tarjan's strongly connected components).
let index = 0;
interface Visit {
  index: number;
  low: number;
  onStack: boolean;
}
const state = new Map<string, Visit>();
const stack: string[] = [];
const strong = (file: string): void => {
  const node: Visit = { index, low: index, onStack: true };
  index += 1;
  state.set(file, node);
  stack.push(file);
  for (const target of imports.get(file) ?? []) {
    if (!imports.has(target)) continue;
    const seen = state.get(target);
    if (seen === undefined) {
      strong(target);
      node.low = Math.min(node.low, state.get(target)?.low ?? node.low);
    } else if (seen.onStack) node.low = Math.min(node.low, seen.index);
  }
  if (node.low === node.index) {
    const members: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      const visit = state.get(member);
      if (visit) visit.onStack = false;
      members.push(member);
      if (member === file) break;
    }
    if (members.length > 1) problems.push(`circle: ${members.join(" <-> ")}`);
  }
};
for (const file of files) if (!state.has(file)) strong(file);

if (process.argv.includes("--print")) {
  const folders = new Map<string, number>();
  for (const [file, targets] of imports) {
    for (const target of targets) {
      const a = path.posix.dirname(file);
      const b = path.posix.dirname(target);
      if (a !== b) folders.set(`${a} -> ${b}`, (folders.get(`${a} -> ${b}`) ?? 0) + 1);
    }
  }
  for (const [edge, count] of [...folders].sort()) console.log(`${edge} (${count})`);
}
const edges = [...imports.values()].reduce((sum, targets) => sum + targets.length, 0);
if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`import-graph: ${problems.length} problem(s) in ${files.length} files`);
  process.exit(1);
}
console.log(`import-graph: ${files.length} files, ${edges} imports, no circle, no upward arrow`);
