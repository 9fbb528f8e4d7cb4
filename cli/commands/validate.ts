// sysconfig validate: the config, every template for every environment's target kind, and rendered/.
import { loadConfig } from "../../reconciler/config/load.js";
import { checkDependencies, checkRenderedFiles } from "../../reconciler/desired/check.js";
import { InvalidInputError, reasonOf } from "../../reconciler/errors.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll, type RenderedFile } from "../../reconciler/render/render.js";
import type { CliIo } from "../io.js";
import { resolveEnvironment } from "../repo.js";
import { readBuildInfo } from "../../reconciler/desired/build-info.js";

export interface ValidateOptions {
  repo: string;
  environment?: string;
}

export async function runValidate(options: ValidateOptions, io: CliIo): Promise<void> {
  const config = await loadConfig(options.repo);
  const problems: string[] = [];
  try {
    checkDependencies(config);
  } catch (error) {
    problems.push(reasonOf(error));
  }
  // Every environment's render, checked as its target would take it (what plan refuses, validate refuses).
  const renders = new Map<string, RenderedFile[]>();
  for (const environment of Object.keys(config.environments)) {
    try {
      const files = await renderAll(options.repo, config, environment);
      await checkRenderedFiles(config, environment, files);
      renders.set(environment, files);
    } catch (error) {
      problems.push(`environment ${environment}: ${reasonOf(error)}`);
    }
  }
  const baked = await readBuildInfo(options.repo);
  const environment = await resolveEnvironment(
    options.repo,
    config,
    options.environment ?? baked?.environment,
  );
  const files = renders.get(environment);
  if (problems.length === 0 && files !== undefined) {
    const stale = await findStale(options.repo, files);
    if (stale.length > 0) {
      problems.push(
        `rendered/ is stale for ${environment}: ${stale.map((s) => s.path).join(", ")} (run 'sysconfig render')`,
      );
    }
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`validation failed:\n  ${problems.join("\n  ")}`, { issues: problems });
  }
  io.out(
    `valid: ${config.name}, ${Object.keys(config.services).length} services, ` +
      `environments ${Object.keys(config.environments).join(", ")}; rendered/ current for ${environment}`,
  );
}
