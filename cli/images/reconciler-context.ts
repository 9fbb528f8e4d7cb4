// The reconciler image's build context, prepared here rather than inside a build container (which
// may have no registry access): the project's Dockerfile, the compiled CLI and reconciler, the
// built-in templates, the example repo, and only the production dependency closure of package-lock.
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import path from "node:path";
import { InternalError } from "../../reconciler/errors.js";
import { RECONCILER_NODE_FLAGS } from "./node-flags.js";
import { deterministicTar, type TarEntry } from "./tar.js";

/** Files a running reconciler never reads: type declarations, source maps, TypeScript, docs. */
const NOT_AT_RUNTIME = /\.(d\.[cm]?ts|map|md|markdown|[cm]?ts)$/i;

/** Runs in the image's build stage: adds the non-root user, checks the CLI loads, removes itself. */
const PREPARE_SCRIPT = `// Build stage of the reconciler image: add the non-root user 'sysconfig' (uid 10001) to the base
// image's passwd/group (or create them: an imported runtime image may have none), check that the
// CLI loads with production dependencies only, and leave nothing of this script in /out.
const fs = require("node:fs");
const { execFileSync } = require("node:child_process");
const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");
const withEntry = (text, name, line) => {
  const lines = text.split("\\n").filter((l) => l !== "");
  if (!lines.some((l) => l.startsWith(name + ":"))) lines.push(line);
  return lines.join("\\n") + "\\n";
};
fs.mkdirSync("/out/etc", { recursive: true });
let passwd = withEntry(read("/etc/passwd"), "root", "root:x:0:0:root:/root:/sbin/nologin");
passwd = withEntry(passwd, "sysconfig", "sysconfig:x:10001:10001:sysconfig:/tmp:/sbin/nologin");
let group = withEntry(read("/etc/group"), "root", "root:x:0:");
group = withEntry(group, "sysconfig", "sysconfig:x:10001:");
fs.writeFileSync("/out/etc/passwd", passwd);
fs.writeFileSync("/out/etc/group", group);
const main = "/out/opt/sysconfig/dist/cli/main.js";
const version = execFileSync(process.execPath, [main, "--version"]).toString().trim();
console.log("sysconfig " + version + " loads on node " + process.version);
fs.unlinkSync(__filename);
`;

/** \`sysconfig\` on PATH: node runs the CLI. No shell needed, so any Node image works as the base. */

// One flag fits a Linux shebang line (the kernel passes the rest of the line as one argument).
const LAUNCHER = `#!/usr/local/bin/node ${RECONCILER_NODE_FLAGS.join(" ")}
import("/opt/sysconfig/dist/cli/main.js").catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

interface LockPackage {
  dev?: boolean;
}

/** node_modules/… paths of every non-dev package in package-lock.json. */
export async function productionPackages(root: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8")) as {
    packages?: Record<string, LockPackage>;
  };
  if (lock.packages === undefined)
    throw new InternalError("package-lock.json has no 'packages' (lockfile v2+)");
  return Object.entries(lock.packages)
    .filter(([p, meta]) => p.startsWith("node_modules/") && meta.dev !== true)
    .filter(([p]) => !p.split("node_modules/").at(-1)?.startsWith("@types/"))
    .map(([p]) => p)
    .sort();
}

/** Files under `dir` (relative to root), skipping nested node_modules and what `skip` rejects. */
async function walk(
  root: string,
  dir: string,
  skip: (rel: string, isDir: boolean) => boolean,
): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for (const entry of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (skip(rel, entry.isDirectory())) continue;
    if (entry.isDirectory()) {
      out.push(...(await walk(root, rel, skip)));
    } else if (entry.isSymbolicLink()) {
      out.push({ path: rel, linkTarget: await readlink(path.join(root, rel)) });
    } else if (entry.isFile()) {
      const content = await readFile(path.join(root, rel));
      out.push({ path: rel, content });
    }
  }
  return out;
}

function skipPackageFile(rel: string, isDir: boolean): boolean {
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  if (isDir) {
    if (name === "node_modules" || name === ".bin" || name === ".github") return true;
    // Native prebuilds for other operating systems.
    return /\/prebuilds\/[^/]+$/.test(rel) && !name.startsWith("linux");
  }
  return NOT_AT_RUNTIME.test(name) && !/\.[cm]?js$/.test(name);
}

/** Node's executable bit matters for native addons' helpers; keep it for files that had it. */
async function withModes(root: string, entries: TarEntry[]): Promise<TarEntry[]> {
  return Promise.all(
    entries.map(async (e) => {
      if ("content" in e && ((await stat(path.join(root, e.path))).mode & 0o111) !== 0) {
        return { ...e, executable: true };
      }
      return e;
    }),
  );
}

export interface ReconcilerContext {
  tar: Buffer;
  files: number;
  bytes: { app: number; nodeModules: number };
}

/** The whole context, dated `mtime` (SOURCE_DATE_EPOCH or 0) so unchanged files hit the build cache. */
export async function reconcilerContext(root: string, mtime: Date): Promise<ReconcilerContext> {
  const app: TarEntry[] = [
    { path: "package.json", content: await readFile(path.join(root, "package.json")) },
  ];
  // The CLI runs from its bundle (scripts/bundle.ts): the launcher, the bundle's code with the web page's
  // static assets (script and stylesheet) beside it, and the licences of the packages bundled.
  app.push({ path: "dist/cli/main.js", content: await readFile(path.join(root, "dist/cli/main.js")) });
  app.push(
    ...(await walk(root, "dist/cli/bundle", (rel, isDir) => !isDir && !/\.(js|css|LEGAL\.txt)$/.test(rel))),
  );
  for (const dir of ["templates", "sysconfig-example"]) app.push(...(await walk(root, dir, () => false)));
  const modules: TarEntry[] = [];
  for (const pkg of await productionPackages(root)) {
    modules.push(...(await walk(root, pkg, skipPackageFile)));
  }
  const sized = (entries: TarEntry[]) =>
    entries.reduce((sum, e) => sum + ("content" in e ? Buffer.byteLength(e.content) : 0), 0);
  const entries: TarEntry[] = [
    { path: "Dockerfile", content: await readFile(path.join(root, "Dockerfile")) },
    // Dependencies apart from the app, so a code change leaves their (large) layer cached.
    ...(await withModes(root, modules)).map((e) => ({ ...e, path: `deps/opt/sysconfig/${e.path}` })),
    ...(await withModes(root, app)).map((e) => ({ ...e, path: `app/opt/sysconfig/${e.path}` })),
    { path: "app/usr/local/bin/sysconfig", content: LAUNCHER, executable: true },
    { path: "app/sysconfig/config", directory: true },
    { path: "app/.prepare.cjs", content: PREPARE_SCRIPT },
  ];
  return {
    tar: await deterministicTar(entries, mtime),
    files: entries.length,
    bytes: { app: sized(app), nodeModules: sized(modules) },
  };
}
