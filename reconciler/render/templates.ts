// Where a service's template comes from and where its rendered file goes.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceConfig, TargetKind } from "../config/schema.js";

export const RENDERED_DIR = "rendered";

/** The sysconfig installation root (holds templates/ and sysconfig-example/), from source or dist/. */
export function projectRoot(): string {
  // Found once per process: rendering 15,000 services asked 30,000 times (a second of existsSync).
  if (foundRoot !== undefined) return foundRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "templates")) && existsSync(path.join(dir, "package.json"))) {
      foundRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find sysconfig's templates/ directory");
    dir = parent;
  }
}
let foundRoot: string | undefined;

export interface TemplateRef {
  /** Absolute path of the template file (for the service's own template: before the containment check). */
  file: string;
  /** A service's own template: its path in the config repo and the sysconfig.yaml entry naming it. */
  own?: { path: string; from: string };
  /** How errors name it: `templates/fleet/service.hbs (built-in)` or the config-repo relative path. */
  label: string;
}

/** The template for a service on a target kind: the service's own if it names one, else the built-in. */
export function templateFor(
  repoDir: string,
  kind: TargetKind,
  serviceName: string,
  service: ServiceConfig,
): TemplateRef {
  const own = service.templates[kind];
  if (own !== undefined) {
    return {
      file: path.resolve(repoDir, own),
      label: own,
      own: { path: own, from: `services.${serviceName}.templates.${kind}` },
    };
  }
  const builtin = builtinTemplateName(kind, service.instances > 1);
  return { file: path.join(projectRoot(), "templates", builtin), label: `templates/${builtin} (built-in)` };
}

function builtinTemplateName(kind: TargetKind, instanced: boolean): string {
  switch (kind) {
    case "fleet":
      return instanced ? "fleet/template-unit.service.hbs" : "fleet/unit.service.hbs";
    case "docker":
      return "docker/container.yaml.hbs";
    case "kubernetes":
      return "kubernetes/deployment.yaml.hbs";
  }
}

/** The path, relative to the config repo, of a service's rendered file. */
export function renderedPathFor(kind: TargetKind, serviceName: string, service: ServiceConfig): string {
  switch (kind) {
    case "fleet":
      return `${RENDERED_DIR}/${serviceName}${service.instances > 1 ? "@" : ""}.service`;
    case "docker":
    case "kubernetes":
      return `${RENDERED_DIR}/${serviceName}.yaml`;
  }
}
