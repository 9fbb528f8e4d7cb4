// sysconfig render [--check]: re-render every service of the current environment.
import { loadConfig } from "../../reconciler/config/load.js";
import type { SysconfigConfig } from "../../reconciler/config/schema.js";
import { checkDesired } from "../../reconciler/desired/check.js";
import { InvalidInputError } from "../../reconciler/errors.js";
import { findStale, staleDiff } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { writeRendered } from "../../reconciler/render/write.js";
import type { CliIo } from "../io.js";
import { DEFAULT_CHECKOUT_LOCK_SECONDS, lockCheckoutAt } from "../git/checkout-lock.js";
import { operatorGit } from "../git/operator-git.js";
import { resolveEnvironment } from "../repo.js";

export interface RenderOptions {
  repo: string;
  environment?: string;
  check?: boolean;
  /** Render --environment X even though the checkout is on another environment's branch. */
  anyBranch?: boolean;
  /** Without --check: how long to wait for a bump (or another render) writing in the checkout. */
  lockTimeout?: number;
}

/** The branch checked out in `dir`, or undefined (not a git checkout, detached HEAD). */
async function checkedOutBranch(dir: string): Promise<string | undefined> {
  try {
    // symbolic-ref also answers in a repo without commits; GIT_DIR (set in hooks) would point elsewhere.
    const env = { ...process.env, GIT_DIR: undefined, GIT_WORK_TREE: undefined };
    const out = await operatorGit(dir, env).raw(["symbolic-ref", "--quiet", "--short", "HEAD"]);
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Each environment's branch holds that environment's rendered/: rendering another environment into it
 * (render --environment staging on develop) would replace develop's containers with staging's units.
 */
async function refuseOtherEnvironmentsBranch(
  options: RenderOptions,
  config: SysconfigConfig,
  environment: string,
): Promise<void> {
  if (options.environment === undefined || options.anyBranch) return;
  const branch = await checkedOutBranch(options.repo);
  if (branch === undefined || branch === environment || !Object.hasOwn(config.environments, branch)) return;
  throw new InvalidInputError(
    `--environment ${environment} render failed: ${options.repo} is checked out on ${branch}, the branch of ` +
      `environment ${branch}, whose rendered/ holds ${branch}'s files; rendering ${environment} there would ` +
      `replace them. Check out ${environment} (git switch ${environment}) and render there, or pass ` +
      `--any-branch if you really mean to render ${environment} on this branch. Nothing was changed.`,
  );
}

export async function runRender(options: RenderOptions, io: CliIo): Promise<void> {
  if (options.check) return renderOnce(options, io);
  // From reading sysconfig.yaml to writing rendered/ under the checkout's lock: a render that read the config
  // before a bump committed would otherwise write the old tag back over the bump's rendered/ file.
  const lock = await lockCheckoutAt(options.repo, {
    purpose: "render",
    command: "render",
    timeoutMs: (options.lockTimeout ?? DEFAULT_CHECKOUT_LOCK_SECONDS) * 1000,
    onWait: (holder) =>
      io.reporter.info(`${options.repo}: waiting for the checkout's lock, held by ${holder}`),
  });
  try {
    await renderOnce(options, io);
  } finally {
    await lock?.release();
  }
}

async function renderOnce(options: RenderOptions, io: CliIo): Promise<void> {
  const config = await loadConfig(options.repo);
  const environment = await resolveEnvironment(options.repo, config, options.environment);
  await refuseOtherEnvironmentsBranch(options, config, environment);
  const files = await renderAll(options.repo, config, environment);
  // What plan would refuse (a dependsOn cycle, a spec the target cannot take) is never written.
  await checkDesired(config, environment, files);
  const stale = await findStale(options.repo, files);
  if (options.check) {
    if (stale.length === 0) {
      io.reporter.info(`rendered/ is current for ${environment} (${files.length} services)`);
      return;
    }
    io.out(stale.map(staleDiff).join(""));
    throw new InvalidInputError(
      `rendered/ is stale for ${environment}: ${stale.map((s) => s.path).join(", ")}. ` +
        `Run 'sysconfig render' and commit the result.`,
    );
  }
  await writeRendered(options.repo, stale);
  for (const file of stale)
    io.reporter.info(`${file.expected === undefined ? "removed" : "wrote"} ${file.path}`);
  io.reporter.info(
    stale.length === 0
      ? `rendered/ already current (${files.length} services)`
      : `rendered ${stale.length} file(s)`,
  );
}
