// sysconfig build: bake the config repo at HEAD into the config image, tag it, optionally push (DESIGN §5).
import {
  buildConfigImage,
  type ConfigImageOptions,
  type ConfigImageResult,
  MovingTagNotMovedError,
} from "../images/config-image.js";
import { checkDockerEnvironment, dockerClient } from "../images/docker-engine.js";
import { createProgress } from "../images/progress.js";
import { InvalidInputError } from "../../reconciler/errors.js";
import { parseImageReference } from "../../reconciler/registry/image-reference.js";
import { shown } from "../../reconciler/text/escape.js";
import type { CliIo } from "../io.js";

export interface BuildOptions extends ConfigImageOptions {
  output: "text" | "json";
}

function jsonResult(r: ConfigImageResult): object {
  return {
    image: r.image,
    references: r.references,
    digests: r.digests,
    pushedReferences: r.pushedReferences,
    movingTag: r.movingTag ?? null,
    configLayerDigest: r.configLayerDigest ?? null,
    configLayerSize: r.configLayerSize ?? null,
    imageId: r.imageId ?? null,
    base: r.base,
    revision: r.revision,
    branch: r.branch,
    environment: r.environment,
    created: r.created,
    pushed: r.pushed,
    dryRun: r.dryRun,
    labels: r.labels,
    notes: r.notes,
  };
}

function textResult(r: ConfigImageResult): string {
  const lines: string[] = [];
  if (r.dryRun) {
    lines.push(
      `would build ${r.image} for ${r.environment} at ${r.revision.slice(0, 7)} (dry run, nothing built)`,
    );
    lines.push(`  base:       ${r.base}`);
    lines.push(`  context:    ${r.files.length} files under /sysconfig/config, ${r.contextBytes} bytes`);
    lines.push(...r.references.map((ref) => `  tag:        ${ref}`));
    lines.push(
      "  Dockerfile:",
      ...r.dockerfile
        .trimEnd()
        .split("\n")
        .map((l) => `    ${l}`),
    );
    lines.push("  labels:", ...Object.entries(r.labels).map(([k, v]) => `    ${k}=${v}`));
    return lines.join("\n");
  }
  lines.push(
    `built ${r.image} for ${r.environment} at ${r.revision.slice(0, 7)} (${r.imageId?.slice(0, 19) ?? "?"})`,
  );
  lines.push(`  config layer: ${r.configLayerDigest ?? "?"} (${r.configLayerSize ?? "?"} bytes)`);
  for (const ref of r.references) {
    const digest = r.digests[ref];
    const skipped = r.movingTag?.reference === ref && !r.movingTag.pushed;
    const state = skipped ? `  NOT pushed: ${r.movingTag?.reason ?? ""}` : "";
    lines.push(`  ${ref}${digest === undefined ? state : `  pushed ${digest}`}`);
  }
  if (!r.pushed) lines.push("  not pushed (use --push)");
  return lines.join("\n");
}

/** --base goes into the generated Dockerfile's FROM line: only a plain image reference may (tag and digest allowed). */
function checkBase(base: string | undefined): void {
  if (base === undefined) return;
  const parsed =
    base.length <= 512 ? parseImageReference(base) : { problem: "it is longer than 512 characters" };
  if (!("problem" in parsed)) return;
  throw new InvalidInputError(
    `--base ${shown(base)} build failed: not an image reference: ${parsed.problem}. Pass the reconciler image to ` +
      `build on, e.g. --base registry:5000/acme/sysconfig-reconciler:0.1.0 (lower-case path, optional :tag and ` +
      `@sha256:digest). Nothing was built.`,
  );
}

export async function runBuild(options: BuildOptions, io: CliIo): Promise<void> {
  checkBase(options.base);
  checkDockerEnvironment(io.env);
  const progress = createProgress({
    tty: process.stderr.isTTY === true && io.env.TERM !== "dumb",
    write: (text) => process.stderr.write(text),
    reporter: io.reporter,
  });
  const report = (result: ConfigImageResult) => {
    for (const note of result.notes) io.reporter.warn(note);
    io.out(options.output === "json" ? JSON.stringify(jsonResult(result), null, 2) : textResult(result));
  };
  try {
    report(await buildConfigImage(options, { docker: () => dockerClient(io.env), env: io.env, progress }));
  } catch (error) {
    // The immutable tags were pushed but IMAGE:BRANCH was not moved: report what was done, then fail (exit 1).
    if (error instanceof MovingTagNotMovedError) report(error.result);
    throw error;
  }
}
