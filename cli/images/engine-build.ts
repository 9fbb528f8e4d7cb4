// Runs one image build on the engine from an in-memory tar context and returns the image ID.
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { RuntimeFailureError } from "../../reconciler/errors.js";
import { engineError, followStream, StreamError } from "./docker-engine.js";
import type { Progress } from "./progress.js";

export interface EngineBuildOptions {
  /** What is being built, for messages: "config image acme/sysconfig". */
  subject: string;
  context: Buffer;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  progress: Progress;
  /** Called with each step's instruction and the (short) ID of the image it produced. */
  onStep?: (instruction: string, shortId: string) => void;
}

/** Builds with the classic builder, networking off (nothing in a build needs the network). */
export async function buildOnEngine(docker: Docker, options: EngineBuildOptions): Promise<string> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(Readable.from([options.context]), {
      dockerfile: "Dockerfile",
      rm: true,
      forcerm: true,
      pull: false,
      networkmode: "none",
      nocache: options.noCache === true,
      buildargs: options.buildArgs ?? {},
    });
  } catch (error) {
    throw engineError(`${options.subject} build`, error);
  }
  let events;
  try {
    let step = "";
    events = await followStream(stream, (event) => {
      options.progress.event("build", event);
      const text = event.stream?.trim() ?? "";
      const stepMatch = /^Step \d+\/\d+ : (.*)$/.exec(text);
      if (stepMatch) step = stepMatch[1] ?? "";
      const idMatch = /^---> ([0-9a-f]{12})$/.exec(text);
      if (idMatch?.[1] !== undefined) options.onStep?.(step, idMatch[1]);
    });
  } catch (error) {
    throw error instanceof StreamError
      ? new RuntimeFailureError(`${options.subject} build failed: ${error.message.trim()}`, { cause: error })
      : engineError(`${options.subject} build`, error);
  } finally {
    options.progress.end();
  }
  const id = events.map((e) => e.aux?.ID).findLast((x) => x !== undefined);
  if (id === undefined) {
    throw new RuntimeFailureError(`${options.subject} build failed: the engine reported no image ID`);
  }
  return id;
}

/** Points repository:tag at `imageId`. */
export async function tagImage(docker: Docker, imageId: string, reference: string): Promise<void> {
  const colon = reference.lastIndexOf(":");
  try {
    await docker.getImage(imageId).tag({ repo: reference.slice(0, colon), tag: reference.slice(colon + 1) });
  } catch (error) {
    throw engineError(`tag ${reference}`, error);
  }
}

/** The image's layer diff IDs (uncompressed digests), base first. */
export async function imageLayers(docker: Docker, image: string): Promise<string[]> {
  try {
    const info = await docker.getImage(image).inspect();
    return info.RootFS.Layers ?? [];
  } catch (error) {
    throw engineError(`inspect of image ${image}`, error);
  }
}
