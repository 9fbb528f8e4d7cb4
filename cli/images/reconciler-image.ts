// Builds this version's reconciler image (the project's Dockerfile) on the engine: what
// `npm run image` runs and what tests and benchmarks call before building config images.
import type Docker from "dockerode";
import { projectRoot } from "../../reconciler/render/templates.js";
import { engineError } from "./docker-engine.js";
import { buildOnEngine, tagImage } from "./engine-build.js";
import type { Progress } from "./progress.js";
import { reconcilerContext } from "./reconciler-context.js";
import { reconcilerImageName } from "./reconciler-image-name.js";

/** The Dockerfile's default; used when it is on the engine (nothing else is ever pulled). */
export const DEFAULT_NODE_IMAGE = "node:24-slim";
/** The local runtime image `npm run services` makes with docker import, the fallback here. */
export const LOCAL_NODE_IMAGE = "sysconfig-base/node:24";

export interface ReconcilerImageOptions {
  /** NODE_IMAGE build argument; default node:24-slim if present, else the local runtime image. */
  nodeImage?: string;
  /** Reference to tag; default reconcilerImageName(). */
  reference?: string;
  noCache?: boolean;
  /** SOURCE_DATE_EPOCH: the mtime of every context entry (default 0). */
  sourceDateEpoch?: number;
  progress: Progress;
}

export interface ReconcilerImageResult {
  reference: string;
  imageId: string;
  nodeImage: string;
  /** Bytes of the image, of its base, and what the reconciler adds. */
  size: number;
  baseSize: number;
  contextBytes: number;
}

async function imageSize(docker: Docker, image: string): Promise<number | undefined> {
  try {
    return (await docker.getImage(image).inspect()).Size;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw engineError(`inspect of image ${image}`, error);
  }
}

async function imageId(docker: Docker, reference: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(reference).inspect()).Id;
  } catch {
    return undefined;
  }
}

/**
 * Every rebuild after a code change orphans the previous image and the build stage's app layers;
 * on a copy-on-write-less driver (vfs) each is a full copy of the rootfs. Removes them, keeping
 * the dependency layer (the build cache worth having). Failures are only reported.
 */
async function removeLeftovers(
  docker: Docker,
  previous: string | undefined,
  current: string,
  steps: Map<string, string>,
  progress: Progress,
): Promise<void> {
  const remove = async (id: string) => {
    try {
      await docker.getImage(id).remove();
    } catch (error) {
      progress.line(`cleanup: ${id.slice(7, 19)} kept (${engineError("removal", error).message})`);
    }
  };
  if (previous !== undefined && previous !== current) await remove(previous);
  const deps = steps.get("COPY deps/");
  const app = steps.get("COPY app/");
  if (deps === undefined || app === undefined) return;
  const all = await docker.listImages({ all: true });
  const isShort = (id: string, short: string) => id.startsWith(`sha256:${short}`);
  const stale = all.filter((i) => isShort(i.ParentId, deps) && !isShort(i.Id, app));
  for (const image of stale) {
    const children = all.filter((i) => i.ParentId === image.Id);
    for (const child of children) await remove(child.Id);
    if (children.length === 0) await remove(image.Id);
  }
}

async function chooseNodeImage(
  docker: Docker,
  explicit: string | undefined,
  progress: Progress,
): Promise<string> {
  if (explicit !== undefined) return explicit;
  if ((await imageSize(docker, DEFAULT_NODE_IMAGE)) !== undefined) return DEFAULT_NODE_IMAGE;
  if ((await imageSize(docker, LOCAL_NODE_IMAGE)) !== undefined) {
    progress.line(
      `${DEFAULT_NODE_IMAGE} is not on this engine; using ${LOCAL_NODE_IMAGE} (set NODE_IMAGE to choose)`,
    );
    return LOCAL_NODE_IMAGE;
  }
  return DEFAULT_NODE_IMAGE;
}

export async function buildReconcilerImage(
  docker: Docker,
  options: ReconcilerImageOptions,
): Promise<ReconcilerImageResult> {
  const reference = options.reference ?? reconcilerImageName();
  const nodeImage = await chooseNodeImage(docker, options.nodeImage, options.progress);
  const context = await reconcilerContext(projectRoot(), new Date((options.sourceDateEpoch ?? 0) * 1000));
  options.progress.line(
    `context: ${context.files} files, ${(context.tar.length / 1e6).toFixed(1)} MB ` +
      `(app ${(context.bytes.app / 1e6).toFixed(1)} MB, production node_modules ${(context.bytes.nodeModules / 1e6).toFixed(1)} MB)`,
  );
  const previous = await imageId(docker, reference);
  const steps = new Map<string, string>();
  const builtId = await buildOnEngine(docker, {
    subject: `reconciler image ${reference}`,
    context: context.tar,
    buildArgs: { NODE_IMAGE: nodeImage },
    noCache: options.noCache,
    progress: options.progress,
    onStep: (instruction, shortId) => steps.set(instruction.split(" ").slice(0, 2).join(" "), shortId),
  });
  await tagImage(docker, builtId, reference);
  await removeLeftovers(docker, previous, builtId, steps, options.progress);
  return {
    reference,
    imageId: builtId,
    nodeImage,
    size: (await imageSize(docker, builtId)) ?? 0,
    baseSize: (await imageSize(docker, nodeImage)) ?? 0,
    contextBytes: context.tar.length,
  };
}
