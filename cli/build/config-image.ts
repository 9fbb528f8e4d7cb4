// sysconfig build's pipeline: check the repo (clean, rendered/ current) → snapshot HEAD → context →
// build FROM the reconciler image → stamp labels and tag → (check credentials, push). Returns plain data; never prints.
import type Docker from "dockerode";
import { loadConfig } from "../../reconciler/config/load.js";
import type { SysconfigConfig } from "../../reconciler/config/schema.js";
import type { BuildInfo } from "../../reconciler/desired/build-info.js";
import { InvalidInputError } from "../../reconciler/errors.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { resolveEnvironment } from "../repo.js";
import { configContext, configLabels } from "./config-context.js";
import { checkBranchTip } from "./branch-tip.js";
import { engineError } from "./docker-engine.js";
import { buildOnEngine, imageLayers } from "./engine-build.js";
import { dirtyPaths, snapshotHead } from "./git-snapshot.js";
import type { Progress } from "./progress.js";
import { checkCredentials, pushReferences } from "./push.js";
import { reconcilerImageName } from "./reconciler-image-name.js";
import { registryCredentials, registryOf } from "../../reconciler/registry/credentials.js";
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
  const stale = await findStale(repo, await renderAll(repo, config, environment));
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
  };
  const context = await configContext(base, info, head.files);
  const result: ConfigImageResult = {
    image,
    base,
    references,
    digests: {},
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
    const toPush = await withoutStaleMovingTag(options.repo, branch, head.revision, references, notes);
    result.digests = await pushReferences(docker, registry, toPush, auth.credentials, deps.progress, imageId);
    result.pushed = true;
  }
  return result;
}

/**
 * The references to push: all of them when HEAD is its branch's tip on the remote; otherwise the moving
 * branch tag (the last reference) stays local, so an older commit never moves it backwards.
 */
async function withoutStaleMovingTag(
  repo: string,
  branch: string,
  revision: string,
  references: readonly string[],
  notes: string[],
): Promise<string[]> {
  const tip = await checkBranchTip(repo, branch, revision);
  if (tip.state === "current") return [...references];
  const moving = references.at(-1) ?? "";
  const why =
    tip.state === "behind"
      ? `HEAD ${revision.slice(0, 7)} is not the tip of ${tip.remote} (${tip.tip.slice(0, 7)})`
      : `the tip of ${tip.remote} could not be read (${tip.reason})`;
  notes.push(
    `${moving} was not pushed: ${why}, and pushing it could move it backwards. The immutable tags were pushed; ` +
      `build the branch's newest commit to move ${moving}.`,
  );
  return references.slice(0, -1);
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
