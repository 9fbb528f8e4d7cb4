// Stamps the built image with its OCI labels and the commit time, without another build step.
// The classic builder runs every LABEL in a container of its own (on the vfs driver a full copy
// of the rootfs, seconds) and writes the build time into the image. Instead, the built image's
// config is rewritten — labels added, `created` = commit time — and loaded back with `docker load`:
// its layers all exist already, so the archive holds only manifest.json and the config, and the
// resulting image ID (the config's SHA-256) is the same for every build of one commit.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { RuntimeFailureError } from "../../reconciler/errors.js";
import { engineError, followStream, StreamError } from "./docker-engine.js";
import { deterministicTar } from "./tar.js";

export interface StampOptions {
  labels: Record<string, string>;
  /** ISO-8601 time to record as the image's creation time: the commit time. */
  created: string;
  /** Tags the stamped image receives. */
  references: readonly string[];
}

function sortedObject(record: Record<string, string> | undefined | null): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The image config JSON (Docker image spec v1.2) for `built` with labels and time replaced. */
export function stampedConfig(built: Docker.ImageInspectInfo, options: StampOptions): string {
  const config = {
    architecture: built.Architecture,
    os: built.Os,
    created: options.created,
    config: { ...built.Config, Labels: sortedObject({ ...built.Config.Labels, ...options.labels }) },
    rootfs: { type: "layers", diff_ids: built.RootFS.Layers ?? [] },
  };
  return JSON.stringify(config);
}

/** Loads the stamped config over `builtId`'s layers; returns the new image ID. */
export async function stampImage(docker: Docker, builtId: string, options: StampOptions): Promise<string> {
  let built: Docker.ImageInspectInfo;
  try {
    built = await docker.getImage(builtId).inspect();
  } catch (error) {
    throw engineError(`inspect of built image ${builtId}`, error);
  }
  const config = stampedConfig(built, options);
  const digest = createHash("sha256").update(config).digest("hex");
  const layers = built.RootFS.Layers ?? [];
  const manifest = [
    {
      Config: `${digest}.json`,
      RepoTags: options.references,
      // Every layer is already in the engine's store (matched by chain ID), so no layer file is read.
      Layers: layers.map((_, i) => `layer-${i}/layer.tar`),
    },
  ];
  const archive = await deterministicTar(
    [
      { path: `${digest}.json`, content: config },
      { path: "manifest.json", content: JSON.stringify(manifest) },
    ],
    new Date(options.created),
  );
  try {
    const stream = await docker.loadImage(Readable.from([archive]), { quiet: true });
    await followStream(stream, () => undefined);
  } catch (error) {
    if (error instanceof StreamError) {
      throw new RuntimeFailureError(`stamping labels on image ${builtId} failed: ${error.message.trim()}`, {
        cause: error,
      });
    }
    throw engineError(`stamping labels on image ${builtId}`, error);
  }
  return `sha256:${digest}`;
}
