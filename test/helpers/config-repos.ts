// Config repos for bump tests and the bump benchmark: made by the built CLI (`sysconfig init`,
// `sysconfig render`) and served from bare remotes in temp dirs, read back with real git.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { runCli } from "./cli.js";

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "fixture",
  GIT_AUTHOR_EMAIL: "fixture@localhost",
  GIT_COMMITTER_NAME: "fixture",
  GIT_COMMITTER_EMAIL: "fixture@localhost",
};

/** Runs git synchronously (fixtures and assertions only). */
export function git(args: readonly string[], cwd?: string): string {
  return execFileSync("git", [...args], {
    cwd,
    env: GIT_ENV,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

let clones = 0;
/** A fresh clone of `work` on `branch`, in a new directory under `root`. */
export function cloneOf(work: string, root: string, branch = "develop"): string {
  const dir = path.join(root, `clone-${++clones}`);
  git(["clone", "--quiet", "--branch", branch, "--", work, dir]);
  return dir;
}

/** Commits everything, so build (which refuses a dirty tree) reaches its checks. */
export function commitAll(dir: string): void {
  git(["add", "-A"], dir);
  git(["commit", "--quiet", "-m", "probe", "--allow-empty"], dir);
}

/** `sysconfig init` of the example into `<parent>/work`. */
export async function initExample(parent: string): Promise<string> {
  const work = path.join(parent, "work");
  const result = await runCli(["init", work]);
  if (result.code !== 0) throw new Error(`sysconfig init failed (${result.code}): ${result.stderr}`);
  return work;
}

/** A bare remote cloned from a work repo, with every branch. */
export function bareClone(work: string, remote: string): string {
  git(["clone", "--quiet", "--bare", "--", work, remote]);
  return remote;
}

/** A config repo with `count` services svc01..svcNN on one docker environment, as a bare remote. */
export async function manyServicesRemote(parent: string, count: number, branch = "develop"): Promise<string> {
  const work = path.join(parent, "many-work");
  await mkdir(work, { recursive: true });
  const lines = [
    "# generated: many services on one Docker host",
    "name: many",
    "image: 127.0.0.1:5000/many/sysconfig",
    "environments:",
    `  ${branch}: {target: {kind: docker}}`,
    "services:",
  ];
  for (const name of serviceNames(count)) {
    lines.push(`  ${name}:`, `    image: 127.0.0.1:5000/many/${name}`, `    tag: 1-${branch}`);
  }
  await writeFile(path.join(work, "sysconfig.yaml"), `${lines.join("\n")}\n`);
  git(["init", "--quiet", "--initial-branch", branch], work);
  const rendered = await runCli(["render", "--repo", work, "--environment", branch]);
  if (rendered.code !== 0) throw new Error(`sysconfig render failed: ${rendered.stderr}`);
  git(["add", "."], work);
  git(["commit", "--quiet", "-m", "many services"], work);
  return bareClone(work, path.join(parent, "many.git"));
}

export function serviceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `svc${String(i + 1).padStart(2, "0")}`);
}

/** Every ref and the commit it points at: equal before and after means nothing was touched. */
export function refsOf(repo: string): string {
  return git(["for-each-ref", "--format=%(refname) %(objectname)"], repo);
}

/** A file's content on a branch of a (bare) repo. */
export function fileAt(repo: string, branch: string, file: string): string {
  return git(["show", `${branch}:${file}`], repo);
}

/** A service's tag on a branch, read from sysconfig.yaml there. */
export function tagAt(repo: string, branch: string, service: string): string | undefined {
  const text = fileAt(repo, branch, "sysconfig.yaml");
  const block = text.split(new RegExp(`^  ${service}:\\n`, "m"))[1] ?? "";
  return /^ {4}tag: ['"]?([^'"\n]+)/m.exec(block)?.[1];
}

/** Points a service of the checkout's sysconfig.yaml at its own template for a target kind (a YAML edit:
 * the example's services may already have a templates map). */
export async function setOwnTemplate(
  dir: string,
  service: string,
  kind: string,
  template: string,
): Promise<void> {
  const file = path.join(dir, "sysconfig.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  doc.setIn(["services", service, "templates", kind], template);
  await writeFile(file, doc.toString());
}
