// Reads --template: the service's own template from the service's repo, which CI checks out from code that
// may come from a pull request. The path follows the config repo's containment rule (reconciler/repo-paths.ts)
// with the service's repository as the repo: inside it, no symlink out, not in .git, a regular text file of
// at most 1 MiB. So /etc/shadow, ../../secret or a symlink to ~/.ssh/id_rsa is refused before it is read, and
// nothing of another file's content can reach the config repo or a CI log.
import { execFile } from "node:child_process";
import { readFile, realpath, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { InvalidInputError, reasonOf } from "../../reconciler/errors.js";
import { resolveInRepo } from "../../reconciler/repo-paths.js";
import { shown } from "./validate.js";
import { decodeUtf8 } from "../../reconciler/text/utf8.js";
import { checkTemplateText, MAX_TEMPLATE_BYTES } from "../../reconciler/render/template-text.js";

const execFileAsync = promisify(execFile);

export async function readTemplate(file: string, cwd: string): Promise<{ source: string; content: string }> {
  if (/\p{Cc}/u.test(file)) {
    throw new InvalidInputError(
      `--template ${shown(file)} bump failed: the path holds control characters. Pass the template's plain ` +
        `path (e.g. deploy/web.service.hbs). Nothing was changed.`,
    );
  }
  const source = path.resolve(cwd, file);
  const fail = (reason: string, cause?: unknown) =>
    new InvalidInputError(
      `--template ${source} bump failed: ${reason}. Pass the service's template file (Handlebars, e.g. ` +
        `deploy/web.service.hbs) from the service's repo. Nothing was changed.`,
      { cause },
    );
  let content: string;
  try {
    // The one containment rule (reconciler/repo-paths.ts), here for the service's repo: a template is
    // copied into the config repo and pushed, so only files inside the service's own repo are taken.
    const root = await serviceRepoRoot(cwd, fail);
    const real = await resolveInRepo(root, path.relative(root, source), {
      shown: `--template ${source}`,
      repo: `${root} (the service's repository: the git checkout bump runs in)`,
      fix:
        "A template is copied into the config repo and pushed: pass a template file that lives in the service's " +
        "repo, and run bump from that repo.",
    });
    const info = await stat(real);
    if (!info.isFile()) throw fail("not a regular file");
    if (info.size > MAX_TEMPLATE_BYTES)
      throw fail(`${info.size} bytes is too large for a template (1 MiB at most)`);
    content = decodeUtf8(await readFile(real), `--template ${shown(file)}`);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw fail(`cannot read it (${reasonOf(error)})`, error);
  }
  if (content.includes("\0")) throw fail("it is not a text file");
  try {
    checkTemplateText(content, `--template ${source}`);
  } catch (error) {
    throw new InvalidInputError(`${reasonOf(error)} Nothing was changed.`, { cause: error });
  }
  return { source, content };
}

/**
 * The service's repository: the git work tree bump runs in (the CI checkout of the service). Outside any
 * git work tree, the current directory — but never the whole machine or the home directory, which hold
 * every other secret.
 */
async function serviceRepoRoot(cwd: string, fail: (reason: string) => InvalidInputError): Promise<string> {
  try {
    const env = { ...process.env, GIT_DIR: undefined, GIT_WORK_TREE: undefined };
    const { stdout } = await execFileAsync("git", ["rev-parse", "--show-toplevel"], { cwd, env });
    const top = stdout.trim();
    if (top !== "") return top;
  } catch {
    // Not a git work tree: the current directory.
  }
  const dir = await realpath(cwd).catch(() => path.resolve(cwd));
  const home = await realpath(os.homedir()).catch(() => os.homedir());
  if (path.dirname(dir) === dir || path.relative(dir, home).split(path.sep)[0] !== "..") {
    throw fail(
      `bump runs in ${dir}, which is not a git checkout and holds ${dir === home ? "the home directory" : "the home directory or the whole machine"}; ` +
        `the template must come from the service's repository. Run bump from the service's checkout`,
    );
  }
  return dir;
}
