// sysconfig init DIR: a new config repo from sysconfig-example, one branch per environment,
// each with its rendered/ committed and current.
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { CONFIG_FILE, loadConfig } from "../../reconciler/config/load.js";
import { InvalidInputError, reasonOf, RuntimeFailureError, SysconfigError } from "../../reconciler/errors.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { projectRoot, RENDERED_DIR } from "../../reconciler/render/templates.js";
import { writeRendered } from "../../reconciler/render/write.js";
import { fsCode } from "../../reconciler/repo-paths.js";
import { escapeControls } from "../../reconciler/text/escape.js";
import { acquireCheckoutLock, type CheckoutLock } from "../git/checkout-lock.js";
import { gitIdentityEnv } from "../git/identity.js";
import { operatorGit } from "../git/operator-git.js";
import type { CliIo } from "../io.js";
import { makeDirectory } from "../new-directory.js";

export interface InitOptions {
  dir: string;
}

/** Refuses, changing nothing, anything but a missing or empty directory. */
async function checkTarget(dir: string): Promise<void> {
  const refuse = (reason: string, cause?: unknown) =>
    new InvalidInputError(
      `init ${escapeControls(dir)} failed: ${reason}. init only scaffolds into a new or empty directory: pass another DIR. ` +
        `Nothing was changed.`,
      { cause },
    );
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw refuse(`cannot look at it (${reasonOf(error)})`, error);
  }
  if (!info.isDirectory()) throw refuse("it exists and is not a directory");
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw refuse(`cannot list it (${reasonOf(error)})`, error);
  }
  if (entries.length > 0) throw refuse(`${escapeControls(dir)} is not empty`);
}

/** Points every service's tag at this environment's branch: 1-develop becomes 1-master on master. */
async function retagForBranch(dir: string, branch: string): Promise<void> {
  const file = path.join(dir, CONFIG_FILE);
  const doc = parseDocument(await readFile(file, "utf8"));
  const services = doc.toJS() as { services: Record<string, { tag: string }> };
  for (const [name, service] of Object.entries(services.services)) {
    const build = service.tag.split("-")[0] ?? "1";
    doc.setIn(["services", name, "tag"], `${build}-${branch.replace(/[^A-Za-z0-9_.-]/g, "-")}`);
  }
  await writeFile(file, doc.toString());
}

export async function runInit(options: InitOptions, io: CliIo): Promise<void> {
  const dir = path.resolve(io.cwd, options.dir);
  await checkTarget(dir);
  const created = await makeDirectory(
    dir,
    (reason, cause) =>
      new InvalidInputError(
        `init ${escapeControls(dir)} failed: ${reason}. Pass a DIR whose parent is a writable directory. Nothing was changed.`,
        { cause },
      ),
  );
  const lock = await claimCheckout(dir, created);
  try {
    await scaffold(dir, io);
  } catch (error) {
    // Leave nothing half-made: remove what init wrote (the directory, and any parents, was new or empty).
    await (created === undefined ? emptyDirectory(dir) : rm(created, { recursive: true, force: true })).catch(
      () => undefined,
    );
    throw fileSystemError(dir, error);
  } finally {
    await lock.release();
  }
}

/**
 * Makes DIR/.git, exclusively, and takes the checkout's lock in it before anything else is written: a second
 * init racing for the same empty directory is refused (and removes nothing of the first one's), and a bump
 * or render started in the half-made checkout waits for init to finish.
 */
async function claimCheckout(dir: string, created: string | undefined): Promise<CheckoutLock> {
  const gitDir = path.join(dir, ".git");
  try {
    await mkdir(gitDir);
  } catch (error) {
    // Not raced: what makeDirectory made for this init goes (a racing init's directory stays its own).
    if (created !== undefined && fsCode(error) !== "EEXIST") {
      await rm(created, { recursive: true, force: true }).catch(() => undefined);
    }
    // A file system that refuses the write is said as for the rest of the scaffold.
    if (fsCode(error) !== "EEXIST") throw fileSystemError(dir, error);
    throw new InvalidInputError(
      `init ${escapeControls(dir)} failed: another init (or git) started writing there at the same moment. ` +
        `init only scaffolds into a new or empty directory: pass another DIR. Nothing was changed.`,
      { cause: error },
    );
  }
  return acquireCheckoutLock({ gitDir, purpose: "init", command: "init", timeoutMs: 0 });
}

/** A file-system refusal while writing the scaffold (a read-only or pseudo file system) is said as such. */
function fileSystemError(dir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof SysconfigError || typeof code !== "string") return error;
  const message =
    `init ${escapeControls(dir)} failed: cannot write the scaffold there (${reasonOf(error)}). ` +
    `Pass a DIR on a writable file system. Nothing was changed.`;
  return ["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "ENOENT", "EEXIST", "EINVAL"].includes(code)
    ? new InvalidInputError(message, { cause: error })
    : new RuntimeFailureError(message, { cause: error });
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) await rm(path.join(dir, entry), { recursive: true, force: true });
}

async function scaffold(dir: string, io: CliIo): Promise<void> {
  const example = path.join(projectRoot(), "sysconfig-example");
  await cp(example, dir, {
    recursive: true,
    filter: (src) => !src.startsWith(path.join(example, RENDERED_DIR)),
  });
  const config = await loadConfig(dir);
  const environments = Object.keys(config.environments);
  const git = operatorGit(dir, { ...io.env, ...gitIdentityEnv(io.env) });
  const first = environments[0] ?? "develop";
  await git.init(["--initial-branch", first]);
  await git.add(".");
  await git.commit("Initial config from sysconfig-example");
  const base = (await git.revparse(["HEAD"])).trim();
  for (const environment of environments) {
    if (environment !== first) await git.checkout(["-b", environment, base]);
    await retagForBranch(dir, environment);
    const envConfig = await loadConfig(dir);
    await writeRendered(dir, await findStale(dir, await renderAll(dir, envConfig, environment)));
    await git.add(".");
    await git.commit(`Render ${environment} (${config.environments[environment]?.target.kind ?? "docker"})`);
    io.reporter.info(`branch ${environment}: rendered for ${config.environments[environment]?.target.kind}`);
  }
  await git.checkout(first);
  // The directory's name is the operator's input: a newline or ESC in it is shown, never obeyed.
  io.out(
    `initialised config repo ${escapeControls(dir)} with branches ${environments.join(", ")} (on ${first})`,
  );
  const sealed = Object.entries(config.services).flatMap(([service, settings]) =>
    Object.keys(settings.secrets).map((name) => `${service} ${name}`),
  );
  if (sealed.length > 0) {
    io.reporter.warn(
      `the example's secrets (${sealed.join(", ")}) are encrypted to the demo's keys (their identities are ` +
        `sysconfig's demo/identities/demo.key, for the demo only). For your own system, put your own ` +
        `recipients in environments.<environment>.secrets.recipients ('sysconfig keygen' makes a key), then ` +
        `set each value again ('sysconfig secret set SERVICE NAME --environment E', value on stdin) or drop ` +
        `it ('sysconfig secret rm SERVICE NAME --environment E'): without an identity for them, reconcile ` +
        `exits 3 naming them.`,
    );
  }
}
