// Reads --template: the service's own template from the service's repo, which CI checks out from code that
// may come from a pull request. A symlink there must not smuggle a file from elsewhere on the CI machine
// (a key, /etc/…) into the config repo, and the text must hold nothing that could rewrite the terminal.
import { lstat, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, reasonOf } from "../../reconciler/errors.js";
import { resolveInRepo } from "../../reconciler/repo-paths.js";
import { shown } from "./validate.js";
import { decodeUtf8 } from "../../reconciler/text/utf8.js";

/** Own templates are text files of reasonable size. */
const MAX_TEMPLATE_BYTES = 1024 * 1024;

/** C0/C1 control characters other than tab, newline and carriage return (ESC sequences, NUL, …). */
const CONTROL = /(?![\t\n\r])\p{Cc}/u;

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
    const root = await repoRoot(path.dirname(source));
    const real = await resolveInRepo(root, path.relative(root, source), {
      shown: `--template ${source}`,
      repo: `${root} (the service's repository)`,
      fix: "A template is copied into the config repo and pushed: pass a template file that lives in the service's repo.",
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
  const control = CONTROL.exec(content);
  if (control) {
    const line = content.slice(0, control.index).split("\n").length;
    throw fail(
      `line ${line} holds the control character ${shown(control[0])} (escape sequences could rewrite the ` +
        `terminal that shows the bump's diff)`,
    );
  }
  return { source, content };
}

/** The repository a file is in: the nearest directory up with a `.git` entry, else the file's own directory. */
async function repoRoot(dir: string): Promise<string> {
  for (let at = dir; ; at = path.dirname(at)) {
    const found = await lstat(path.join(at, ".git")).then(
      () => true,
      () => false,
    );
    if (found) return at;
    if (path.dirname(at) === at) return dir;
  }
}
