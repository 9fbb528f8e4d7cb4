// Renders services through their templates: deterministic, strict, escaping off.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { cooperative } from "../concurrency/yield.js";
import type { SysconfigConfig } from "../config/schema.js";
import { InvalidInputError, reasonOf } from "../errors.js";
import { readRepoText } from "../repo-files.js";
import { resolveInRepo } from "../repo-paths.js";
import { buildContext } from "./context.js";
import { MAX_RENDERED_BYTES, withBudget } from "./budget.js";
import { createHandlebars, TemplateHelperError } from "./helpers.js";
import { COMPILE_OPTIONS, precompiledSpec } from "./precompiled.js";
import { templateError } from "./template-errors.js";
import { checkTemplateText, MAX_TEMPLATE_BYTES } from "./template-text.js";
import { renderedPathFor, templateFor, type TemplateRef } from "./templates.js";
import { shown } from "../text/escape.js";
import { decodeUtf8 } from "../text/utf8.js";

export interface RenderedFile {
  service: string;
  /** Relative to the config repo, e.g. `rendered/web@.service`. */
  path: string;
  content: string;
}

/**
 * Renders template text with a context; every error names the template and the line (template-errors.ts),
 * and the render is bounded in output and work (budget.ts).
 */
export function renderTemplate(source: string, label: string, context: object): string {
  let out: string;
  try {
    out = withBudget(() => compiledTemplate(source)(context));
  } catch (error) {
    throw templateError(label, error);
  }
  const bytes = Buffer.byteLength(out);
  if (bytes > MAX_RENDERED_BYTES) {
    throw new InvalidInputError(
      `${label}: renders ${bytes} bytes, more than a rendered file may hold (${MAX_RENDERED_BYTES} bytes, 1 MiB). ` +
        `A unit file or manifest is a few KB: check the template for nested {{#each}} or repeated blocks.`,
    );
  }
  const control = RENDERED_CONTROL.exec(out);
  if (control !== null) {
    const line = out.slice(0, control.index).split("\n").length;
    throw new InvalidInputError(
      `${label}: the rendered file's line ${line} holds the control character ${shown(control[0])}, which a unit ` +
        `file, a manifest or a container spec would take literally (and a terminal showing the diff would obey). ` +
        `It comes from a value the template writes there: remove it from that value in sysconfig.yaml.`,
    );
  }
  return out.endsWith("\n") ? out : `${out}\n`;
}

/** Control characters other than newline and tab, in rendered output (C1 and DEL included: JSON keeps them raw). */
const RENDERED_CONTROL = /[^\P{Cc}\n\t]/u;

// One Handlebars environment and one compiled template per distinct source: rendering 1,000
// services from the same built-in template compiles it once.
const handlebars = createHandlebars();
const compiledCache = new Map<string, HandlebarsTemplateDelegate>();

/** {{…}} expressions in one template: the built-in templates hold under 100. */
export const MAX_TEMPLATE_EXPRESSIONS = 2000;

function compiledTemplate(source: string): HandlebarsTemplateDelegate {
  let compiled = compiledCache.get(source);
  if (compiled === undefined) {
    // Handlebars takes about a millisecond (and 100 KB) per {{…}} to parse and compile: bounded before it starts.
    const expressions = source.split("{{").length - 1;
    if (expressions > MAX_TEMPLATE_EXPRESSIONS) {
      throw new TemplateHelperError(
        undefined,
        `it holds ${expressions} {{…}} expressions, more than a template may (${MAX_TEMPLATE_EXPRESSIONS}; the ` +
          `built-in ones hold under 100)`,
      );
    }
    const spec = precompiledSpec(source);
    if (spec !== undefined) {
      compiled = handlebars.template(spec);
    } else {
      const ast = handlebars.parse(source);
      refuseUnsupported(ast);
      compiled = handlebars.compile(ast, COMPILE_OPTIONS);
    }
    compiledCache.set(source, compiled);
  }
  return compiled;
}

/** Partials and decorators ({{> x}}, {{#*inline}}) load or define code from elsewhere: not in templates. */
function refuseUnsupported(node: unknown): void {
  if (typeof node !== "object" || node === null) return;
  const { type, loc } = node as { type?: unknown; loc?: { start?: { line?: number } } };
  if (typeof type === "string" && /^(Partial|PartialBlock)Statement$|^Decorator(Block)?$/.test(type)) {
    throw new TemplateHelperError(
      loc?.start?.line,
      `${type.startsWith("Partial") ? "partials ({{> name}})" : "decorators ({{* name}}, {{#*inline}})"} are not ` +
        `supported: a template is one self-contained file`,
    );
  }
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) value.forEach(refuseUnsupported);
    else if (typeof value === "object" && value !== null) refuseUnsupported(value);
  }
}

/** A template's text; a service's own must stay inside the config repo (repo-paths.ts). */
async function readTemplate(repoDir: string, ref: TemplateRef): Promise<string> {
  let text: string | undefined;
  try {
    text = ref.own
      ? await readRepoText(repoDir, ref.own.path, { from: ref.own.from }, MAX_TEMPLATE_BYTES)
      : decodeUtf8(await readFile(ref.file), ref.label);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(
      `${ref.label}: cannot read template (${reasonOf(error)}). Check the service's templates entry.`,
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new InvalidInputError(
      `${ref.own?.from ?? ref.label}: template ${ref.label} does not exist in the config repo. ` +
        `Add it (e.g. under templates/) or fix the path in sysconfig.yaml.`,
    );
  }
  checkTemplateText(text, ref.label);
  return text;
}

export interface RenderOptions {
  /**
   * Template texts by the service's own template path, used instead of reading the file (bump --template:
   * the new template is not written yet). The path must still be one inside the config repo.
   */
  templateTexts?: ReadonlyMap<string, string>;
}

export async function renderService(
  repoDir: string,
  config: SysconfigConfig,
  environment: string,
  serviceName: string,
  sources: Map<string, Promise<string>> = new Map(),
  options: RenderOptions = {},
): Promise<RenderedFile> {
  const env = config.environments[environment];
  const service = config.services[serviceName];
  if (!env) throw new InvalidInputError(`unknown environment '${environment}'`);
  if (!service) throw new InvalidInputError(`unknown service '${serviceName}'`);
  const ref = templateFor(repoDir, env.target.kind, serviceName, service);
  let source = sources.get(ref.file);
  if (source === undefined) {
    const given = ref.own === undefined ? undefined : options.templateTexts?.get(ref.own.path);
    source =
      given === undefined || ref.own === undefined
        ? readTemplate(repoDir, ref)
        : resolveInRepo(repoDir, ref.own.path, { from: ref.own.from }).then(() => given);
    sources.set(ref.file, source);
  }
  const content = renderTemplate(await source, ref.label, buildContext(config, environment, serviceName));
  return { service: serviceName, path: renderedPathFor(env.target.kind, serviceName, service), content };
}

/** Renders every service, sorted by name so output order never depends on the YAML's key order. */
export async function renderAll(
  repoDir: string,
  config: SysconfigConfig,
  environment: string,
  options: RenderOptions = {},
): Promise<RenderedFile[]> {
  const names = Object.keys(config.services).sort();
  // Each template file is read once per render, however many services share it (1,000 services
  // from one built-in template: one read, one compile).
  const sources = new Map<string, Promise<string>>();
  const files: RenderedFile[] = [];
  // Lets the pages of a target's reads in while 1,000 services render (concurrency/yield.ts).
  const pause = cooperative();
  for (const name of names) {
    files.push(await renderService(repoDir, config, environment, name, sources, options));
    await pause();
  }
  return files;
}

export function absolutePath(repoDir: string, file: RenderedFile): string {
  return path.join(repoDir, file.path);
}
