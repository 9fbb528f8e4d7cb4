// Works out what a bump changes in a config-repo checkout, reading only: the new sysconfig.yaml,
// the service's template (with --template) and its re-rendered file(s). Applying is apply.ts.
import { CONFIG_FILE, parseConfig } from "../../reconciler/config/load.js";
import type { SysconfigConfig, TargetKind } from "../../reconciler/config/schema.js";
import { checkDesired } from "../../reconciler/desired/check.js";
import { InvalidInputError, reasonOf, SafetyRefusalError } from "../../reconciler/errors.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderService } from "../../reconciler/render/render.js";
import { RENDERED_DIR } from "../../reconciler/render/templates.js";
import { readRepoText } from "../../reconciler/repo-files.js";
import { buildNumberOf } from "./validate.js";
import { setServiceTag, setServiceTemplate } from "./yaml-edit.js";

export interface BumpRequest {
  service: string;
  tag: string;
  branch: string;
  force: boolean;
  /** The service's own template, already read from the service's repo (`source` is its absolute path). */
  template?: { source: string; content: string };
}

/** One file the bump writes (`after`) or removes (`after` undefined); `before` undefined = new file. */
export interface FileChange {
  path: string;
  before: string | undefined;
  after: string | undefined;
}

export interface BumpPlan {
  oldTag: string;
  kind: TargetKind;
  /** Empty when the bump is a no-op (same tag, same template). */
  changes: FileChange[];
}

/** Where --template lands in the config repo. */
export function ownTemplatePath(service: string, kind: TargetKind): string {
  return `templates/${service}.${kind}.hbs`;
}

export async function planBump(dir: string, request: BumpRequest): Promise<BumpPlan> {
  // Every path read or written here must stay inside the config repo (reconciler/repo-paths.ts).
  const text = await readText(dir, CONFIG_FILE);
  const config = parsed(text, `${CONFIG_FILE} on ${request.branch}`);
  const { service, tag, branch } = request;
  // Own keys only: a service or branch named `constructor` or `__proto__` must not find Object.prototype's.
  const current = Object.hasOwn(config.services, service) ? config.services[service] : undefined;
  if (!current) {
    throw new InvalidInputError(
      `service '${service}' bump failed: ${config.name} has no such service on branch ${branch}. ` +
        `Known services: ${Object.keys(config.services).sort().join(", ")}. Check the name (CI's job name ` +
        `is not always the service name) or add the service to sysconfig.yaml first. Nothing was changed.`,
    );
  }
  const environment = Object.hasOwn(config.environments, branch) ? config.environments[branch] : undefined;
  if (!environment) {
    throw new InvalidInputError(
      `branch '${branch}' bump failed: it is not an environment of ${config.name} (sysconfig.yaml lists ` +
        `${Object.keys(config.environments).join(", ")}). Bump a tag for one of those, or pass --branch ENV. ` +
        `Nothing was changed.`,
    );
  }
  const kind = environment.target.kind;
  checkMonotonic(service, current.tag, tag, request.force);

  let newText = current.tag === tag ? text : setServiceTag(text, service, tag);
  const changes: FileChange[] = [];
  if (request.template) {
    const templatePath = ownTemplatePath(service, kind);
    const before = await readRepoText(dir, templatePath);
    if (before !== request.template.content) {
      changes.push({ path: templatePath, before, after: request.template.content });
    }
    if (current.templates[kind] !== templatePath) {
      newText = setServiceTemplate(newText, service, kind, templatePath);
    }
  }
  if (newText === text && changes.length === 0) return { oldTag: current.tag, kind, changes: [] };
  if (newText !== text) changes.unshift({ path: CONFIG_FILE, before: text, after: newText });

  const newConfig = parsed(newText, `${CONFIG_FILE} after the bump`);
  const rendered = await renderChanges(dir, newConfig, branch, service, request.template);
  changes.push(...rendered);
  return { oldTag: current.tag, kind, changes };
}

function checkMonotonic(service: string, oldTag: string, newTag: string, force: boolean): void {
  if (buildNumberOf(newTag) >= buildNumberOf(oldTag) || force) return;
  throw new SafetyRefusalError(
    "monotonic",
    `service '${service}' bump to '${newTag}' refused by the monotonic rule: the config repo already holds ` +
      `'${oldTag}', a higher build number (CI builds finish out of order, so an older build never replaces ` +
      `a newer one). For a deliberate rollback pass --force. Nothing was changed.`,
  );
}

/** The service's rendered file, plus the removal of its file under another name (e.g. web.service → web@.service). */
export async function renderChanges(
  dir: string,
  config: SysconfigConfig,
  branch: string,
  service: string,
  template: BumpRequest["template"],
): Promise<FileChange[]> {
  let file;
  try {
    // With --template the new template is not written yet: its text is handed to the render.
    const templateTexts = new Map<string, string>();
    const kind = config.environments[branch]?.target.kind;
    if (template && kind) templateTexts.set(ownTemplatePath(service, kind), template.content);
    file = await renderService(dir, config, branch, service, new Map(), { templateTexts });
    // What plan would refuse (a spec the target cannot take, a dependsOn cycle) is never committed.
    await checkDesired(config, branch, [file]);
  } catch (error) {
    throw new InvalidInputError(
      `service '${service}' render failed on ${branch}: ${reasonOf(error)}` +
        `${template ? ` (template ${template.source})` : ""}. Fix the template or the service's values. Nothing was committed.`,
      { cause: error },
    );
  }
  const own = new Set([
    `${RENDERED_DIR}/${service}.service`,
    `${RENDERED_DIR}/${service}@.service`,
    `${RENDERED_DIR}/${service}.yaml`,
  ]);
  const stale = (await findStale(dir, [file])).filter((s) => s.path === file.path || own.has(s.path));
  return stale.map((s) => ({ path: s.path, before: s.actual, after: s.expected }));
}

export function parsed(text: string, label: string): SysconfigConfig {
  const result = parseConfig(text, label);
  if (result.issues) {
    throw new InvalidInputError(`${label} is invalid:\n  ${result.issues.join("\n  ")}`, {
      issues: result.issues,
    });
  }
  return result.config;
}

export async function readText(dir: string, file: string): Promise<string> {
  const text = await readRepoText(dir, file);
  if (text === undefined) {
    throw new InvalidInputError(
      `${file} read failed: it does not exist. --repo must be a sysconfig config repo (sysconfig init makes one).`,
    );
  }
  return text;
}
