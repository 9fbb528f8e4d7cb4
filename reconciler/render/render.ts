// Renders services through their templates: deterministic, strict, escaping off.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { SysconfigConfig } from "../config/schema.js";
import { InvalidInputError, reasonOf } from "../errors.js";
import { readRepoText } from "../repo-files.js";
import { resolveInRepo } from "../repo-paths.js";
import { buildContext } from "./context.js";
import { createHandlebars } from "./helpers.js";
import { renderedPathFor, templateFor, type TemplateRef } from "./templates.js";
import { decodeUtf8 } from "../text/utf8.js";

export interface RenderedFile {
  service: string;
  /** Relative to the config repo, e.g. `rendered/web@.service`. */
  path: string;
  content: string;
}

/** Renders template text with a context; a missing variable names the template, line and variable. */
export function renderTemplate(source: string, label: string, context: object): string {
  try {
    const out = compiledTemplate(source)(context);
    return out.endsWith("\n") ? out : `${out}\n`;
  } catch (error) {
    throw templateError(label, error);
  }
}

// One Handlebars environment and one compiled template per distinct source: rendering 1,000
// services from the same built-in template compiles it once.
const handlebars = createHandlebars();
const compiledCache = new Map<string, HandlebarsTemplateDelegate>();

function compiledTemplate(source: string): HandlebarsTemplateDelegate {
  let compiled = compiledCache.get(source);
  if (compiled === undefined) {
    compiled = handlebars.compile(source, { noEscape: true, strict: true });
    compiledCache.set(source, compiled);
  }
  return compiled;
}

function templateError(label: string, error: unknown): InvalidInputError {
  const message = reasonOf(error);
  const missing = /^"([^"]+)" not defined in .* - (\d+):(\d+)$/.exec(message);
  if (missing) {
    const [, variable, line] = missing;
    return new InvalidInputError(
      `${label}:${line}: template variable '${variable}' is not defined. ` +
        `Use one of the variables sysconfig provides (see docs/config.md, "Templates"), or fix the spelling.`,
      { cause: error },
    );
  }
  // Handlebars' parser: "Parse error on line N:\n<excerpt>\n----^\nExpecting …, got …": all of it, by file and line.
  const parse = /^Parse error on line (\d+):\n([\s\S]*)$/.exec(message);
  if (parse) {
    const [, line, detail = ""] = parse;
    const lines = detail.split("\n");
    const expecting = lines.filter((l) => /^Expecting |^Unexpected /.test(l)).join(" ");
    const excerpt = lines.filter((l) => !/^Expecting |^Unexpected /.test(l)).map((l) => `    ${l}`);
    return new InvalidInputError(
      `${label}:${line}: template syntax error: ${expecting || "Handlebars cannot parse it"}\n${excerpt.join("\n")}\n` +
        `Fix the template's {{…}} expression there (see docs/config.md, "Templates").`,
      { cause: error },
    );
  }
  return new InvalidInputError(`${label}: template error: ${message.replace(/\n+/g, " ")}`, { cause: error });
}

/** A template's text; a service's own must stay inside the config repo (repo-paths.ts). */
async function readTemplate(repoDir: string, ref: TemplateRef): Promise<string> {
  let text: string | undefined;
  try {
    text = ref.own
      ? await readRepoText(repoDir, ref.own.path, { from: ref.own.from })
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
  for (const name of names)
    files.push(await renderService(repoDir, config, environment, name, sources, options));
  return files;
}

export function absolutePath(repoDir: string, file: RenderedFile): string {
  return path.join(repoDir, file.path);
}
