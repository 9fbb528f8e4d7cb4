// sysconfig build's pipeline: check the repo (clean, rendered/ current) → snapshot HEAD → context →
// build FROM the reconciler image → stamp labels and tag → (check credentials, push). Returns plain data; never prints.
import type Docker from "dockerode";
import { loadConfig } from "../../reconciler/config/load.js";
import type { SysconfigConfig } from "../../reconciler/config/schema.js";
import type { BuildInfo } from "../../reconciler/desired/build-info.js";
import { checkDesired } from "../../reconciler/desired/check.js";
import { InvalidInputError, RuntimeFailureError } from "../../reconciler/errors.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { resolveEnvironment } from "../repo.js";
import { configContext, configLabels } from "./config-context.js";
import { type BranchTip, checkBranchTip } from "./branch-tip.js";
import { engineError } from "./docker-engine.js";
import { buildOnEngine, imageLayers } from "./engine-build.js";
import { dirtyPaths, snapshotHead } from "./git-snapshot.js";
import type { Progress } from "./progress.js";
import { checkCredentials, pushReferences } from "./push.js";
import { reconcilerImageName } from "./reconciler-image-name.js";
import {
  type RegistryCredentials,
  registryCredentials,
  registryOf,
} from "../../reconciler/registry/credentials.js";
import { readStableTree } from "./stable-tree.js";
import { stampImage } from "./stamp-image.js";
import { BRANCH_VARIABLES, checkRepository, configImageTags, resolveBuildNumber } from "./tags.js";

export interface ConfigImageOptions {
  repo: string;
  image?: string;
  base?: string;
  buildNum?: string;
  push?: boolean;
  dryRun?: boolean;
  /** Build every step again, ignoring the engine's cache (tests and benchmarks use it). */
  noCache?: boolean;
  /** Move the branch tag without checking that HEAD is the remote's tip (CI without read access to it). */
  skipTipCheck?: boolean;
  /** Seconds git ls-remote (the tip check) may go without an answer (default 30). */
  gitTimeout?: number;
}

/** What became of the moving branch tag (IMAGE:BRANCH) on --push. */
export interface MovingTagOutcome {
  reference: string;
  pushed: boolean;
  /**
   * `verified`: HEAD was the remote's tip right before the push; `no-remote`: the repo has no upstream to
   * compare with; `skipped`: --skip-tip-check; `not-tip`: HEAD is not the tip (safe skip);
   * `unreadable`: the tip could not be read, so the tag was not moved (exit 1).
   */
  check: "verified" | "no-remote" | "skipped" | "not-tip" | "unreadable";
  /** Why it was not pushed. */
  reason?: string;
}

export interface ConfigImageDeps {
  /** Made on demand, so --dry-run needs no engine. */
  docker: () => Docker;
  env: NodeJS.ProcessEnv;
  progress: Progress;
}

export interface ConfigImageResult {
  image: string;
  base: string;
  references: string[];
  /** Manifest digest per pushed reference. */
  digests: Record<string, string>;
  /** The references actually pushed, in push order. */
  pushedReferences: string[];
  /** Set on --push. */
  movingTag: MovingTagOutcome | undefined;
  imageId: string | undefined;
  /** diff_id of the config layer (the image's last layer). */
  configLayerDigest: string | undefined;
  configLayerSize: number | undefined;
  revision: string;
  branch: string;
  environment: string;
  created: string;
  pushed: boolean;
  dryRun: boolean;
  /** Notes for the operator (missing build number, skipped submodules, credentials). */
  notes: string[];
  dockerfile: string;
  /** OCI and sysconfig labels stamped on the image. */
  labels: Record<string, string>;
  files: string[];
  contextBytes: number;
}

async function assertClean(repo: string): Promise<void> {
  const dirty = await dirtyPaths(repo);
  if (dirty.length > 0) {
    const shown = dirty.slice(0, 10).map((l) => `  ${l}`);
    if (dirty.length > 10) shown.push(`  … and ${dirty.length - 10} more`);
    throw new InvalidInputError(
      `${repo} has uncommitted changes, so HEAD is not what would be baked:\n${shown.join("\n")}\n` +
        "Commit or remove them (the config image is built from HEAD), then build again.",
      { issues: dirty },
    );
  }
}

async function assertRenderedCurrent(
  repo: string,
  config: SysconfigConfig,
  environment: string,
): Promise<void> {
  const files = await renderAll(repo, config, environment);
  await checkDesired(config, environment, files);
  const stale = await findStale(repo, files);
  if (stale.length > 0) {
    throw new InvalidInputError(
      `rendered/ is stale for ${environment}: ${stale.map((s) => s.path).join(", ")}. ` +
        "The image bakes what was reviewed, so run 'sysconfig render', commit the result, and build again.",
      { issues: stale.map((s) => s.path) },
    );
  }
}

function branchFromCi(env: NodeJS.ProcessEnv): string | undefined {
  for (const name of BRANCH_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

export async function buildConfigImage(
  options: ConfigImageOptions,
  deps: ConfigImageDeps,
): Promise<ConfigImageResult> {
  // The checks and the snapshot read one still checkout: a bump running there is waited for (stable-tree.ts).
  const { config, head, branch, environment } = await readStableTree(options.repo, async () => {
    await assertClean(options.repo);
    const config = await loadConfig(options.repo);
    const head = await snapshotHead(options.repo);
    const branch = head.branch ?? branchFromCi(deps.env);
    if (branch === undefined) {
      throw new InvalidInputError(
        `${options.repo} is on a detached HEAD, so the branch (the environment) is unknown. ` +
          `Check out the branch, or set one of ${BRANCH_VARIABLES.join(", ")}.`,
      );
    }
    const environment = await resolveEnvironment(options.repo, config, branch);
    await assertRenderedCurrent(options.repo, config, environment);
    return { config, head, branch, environment };
  });

  const image = checkRepository(
    options.image ?? config.image,
    options.image === undefined ? "sysconfig.yaml's image" : "--image",
  );
  const base = options.base ?? reconcilerImageName();
  const notes: string[] = [];
  const buildNumber = resolveBuildNumber(options.buildNum, deps.env);
  if (buildNumber.value === undefined) {
    notes.push(
      `no build number (--build-num, or CI's BUILD_NUMBER, GITHUB_RUN_NUMBER, CI_PIPELINE_IID, CIRCLE_BUILD_NUM): the <n>-${branch} tag is left out`,
    );
  }
  if (head.skipped.length > 0) notes.push(`not baked (submodules): ${head.skipped.join(", ")}`);
  const references = configImageTags(branch, head.revision, buildNumber.value).map((t) => `${image}:${t}`);
  const info: BuildInfo = {
    system: config.name,
    environment,
    branch,
    revision: head.revision,
    source: head.source,
    created: head.created,
    subject: head.subject,
  };
  const context = await configContext(base, info, head.files);
  const result: ConfigImageResult = {
    image,
    base,
    references,
    digests: {},
    pushedReferences: [],
    movingTag: undefined,
    imageId: undefined,
    configLayerDigest: undefined,
    configLayerSize: undefined,
    revision: head.revision,
    branch,
    environment,
    created: head.created,
    pushed: false,
    dryRun: options.dryRun === true,
    notes,
    dockerfile: context.dockerfile,
    labels: configLabels(info),
    files: context.files,
    contextBytes: context.tar.length,
  };
  if (options.dryRun === true) return result;

  const docker = deps.docker();
  const registry = registryOf(image);
  const auth = options.push === true ? await registryCredentials(registry, deps.env) : {};
  if (auth.note !== undefined) notes.push(auth.note);
  if (auth.credentials !== undefined) {
    deps.progress.line(`login: ${registry} as ${auth.credentials.username} (${auth.credentials.from})`);
    await checkCredentials(docker, registry, auth.credentials);
  }
  const baseLayers = await baseImageLayers(docker, base);
  const builtId = await buildOnEngine(docker, {
    subject: `config image ${image}`,
    context: context.tar,
    noCache: options.noCache,
    progress: deps.progress,
  });
  result.configLayerSize = await newestLayerSize(docker, builtId);
  const imageId = await stampImage(docker, builtId, {
    labels: result.labels,
    created: head.created,
    references,
  });
  deps.progress.line(
    `stamp: labels, created ${head.created} → ${imageId.slice(0, 19)}, tagged ${references.length}`,
  );
  if (imageId !== builtId) await removeIntermediate(docker, builtId, notes);
  const layers = await imageLayers(docker, imageId);
  result.imageId = imageId;
  result.configLayerDigest = layers.at(-1);
  if (layers.length !== baseLayers.length + 1) {
    notes.push(`expected one layer over ${base}, found ${layers.length - baseLayers.length}`);
  }
  if (options.push === true) {
    await pushAll(docker, registry, auth.credentials, imageId, options, deps.progress, result);
  }
  return result;
}

/**
 * The build pushed its immutable tags but could not read the branch's tip, so IMAGE:BRANCH was not moved
 * (exit 1). Carries the result, so the command still reports what was pushed.
 */
export class MovingTagNotMovedError extends RuntimeFailureError {
  constructor(
    message: string,
    readonly result: ConfigImageResult,
  ) {
    super(message);
  }
}

/**
 * Pushes the immutable tags, then the moving branch tag (last) only when HEAD is its branch's tip on the
 * remote, checked right before that push, so neither an older commit nor a build that a newer one overtook
 * moves it backwards. A tip that cannot be read leaves the tag unmoved and fails the build (exit 1): a
 * silently frozen branch tag would go unnoticed.
 */
async function pushAll(
  docker: Docker,
  registry: string,
  credentials: RegistryCredentials | undefined,
  imageId: string,
  options: ConfigImageOptions,
  progress: Progress,
  result: ConfigImageResult,
): Promise<void> {
  const { references, notes, branch, revision } = result;
  const moving = references.at(-1) ?? "";
  const immutable = references.slice(0, -1);
  const push = async (refs: readonly string[]) => {
    const done = [...result.pushedReferences];
    Object.assign(
      result.digests,
      await pushReferences(docker, registry, refs, credentials, progress, imageId, done),
    );
    result.pushedReferences.push(...refs);
    result.pushed = true;
  };
  await push(immutable);
  let tip: BranchTip | undefined;
  if (options.skipTipCheck !== true) {
    progress.line(`check: is ${revision.slice(0, 7)} the tip of ${branch} on the remote?`);
    tip = await checkBranchTip(options.repo, branch, revision, options.gitTimeout);
  }
  if (tip === undefined || tip.state === "current") {
    await push([moving]);
    const check = tip === undefined ? "skipped" : tip.remote === undefined ? "no-remote" : "verified";
    result.movingTag = { reference: moving, pushed: true, check };
    return;
  }
  const pushed = result.pushedReferences.join(", ") || "nothing";
  if (tip.state === "behind") {
    const reason =
      tip.tip === undefined
        ? `${tip.remote} does not exist on the remote, so HEAD ${revision.slice(0, 7)} is not its tip`
        : `HEAD ${revision.slice(0, 7)} is not the tip of ${tip.remote} (${tip.tip.slice(0, 7)})`;
    result.movingTag = { reference: moving, pushed: false, check: "not-tip", reason };
    notes.push(
      `${moving} was not pushed: ${reason}, and pushing it could move it backwards. Pushed: ${pushed}. ` +
        `Build the branch's newest commit to move ${moving}.`,
    );
    return;
  }
  const reason = `the tip of ${tip.remote} could not be read: ${tip.reason}`;
  result.movingTag = { reference: moving, pushed: false, check: "unreadable", reason };
  throw new MovingTagNotMovedError(
    `build ${result.image} push incomplete: pushed ${pushed}, but ${moving} was NOT moved, because ${reason.replace(/\.$/, "")}. ` +
      `Without the tip, this build could be older than the one ${moving} names and would move it backwards. ` +
      `Give the build read access to the remote (git ls-remote must work: credentials or an SSH key in CI), ` +
      `or pass --skip-tip-check (SYSCONFIG_SKIP_TIP_CHECK=1) to move ${moving} without the check.`,
    result,
  );
}

async function baseImageLayers(docker: Docker, base: string): Promise<string[]> {
  try {
    const info = await docker.getImage(base).inspect();
    return info.RootFS.Layers ?? [];
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw engineError(
        `base image ${base} lookup`,
        error,
        ". Build this version's reconciler image with 'npm run image' in the sysconfig project, pull it, or name another with --base.",
      );
    }
    throw engineError(`base image ${base} lookup`, error);
  }
}

/** The unstamped build result is only an intermediate: its layers live on in the stamped image. */
async function removeIntermediate(docker: Docker, imageId: string, notes: string[]): Promise<void> {
  try {
    await docker.getImage(imageId).remove({ noprune: true });
  } catch (error) {
    // Harmless (a dangling image is left behind), so it is a note, not a failure.
    notes.push(`intermediate image ${imageId} was not removed: ${engineError("removal", error).message}`);
  }
}

/** Size in bytes of the image's top layer, as `docker history` reports it. */
async function newestLayerSize(docker: Docker, imageId: string): Promise<number | undefined> {
  try {
    const history = (await docker.getImage(imageId).history()) as { Size: number; CreatedBy: string }[];
    return history.find((h) => /\bADD\b/.test(h.CreatedBy))?.Size;
  } catch (error) {
    throw engineError(`history of image ${imageId}`, error);
  }
}
