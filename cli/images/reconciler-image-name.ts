// The one place that names this sysconfig version's reconciler image (npm run image builds it,
// sysconfig build --base defaults to it).
import { readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../../reconciler/render/templates.js";

export const RECONCILER_IMAGE_REPOSITORY = "sysconfig/reconciler";

/** This installation's package version, e.g. 0.1.0. */
export function sysconfigVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot(), "package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** `sysconfig/reconciler:<version>`: the default base of every config image. */
export function reconcilerImageName(version: string = sysconfigVersion()): string {
  return `${RECONCILER_IMAGE_REPOSITORY}:${version}`;
}
