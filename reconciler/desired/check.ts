// The one validation of a desired state, shared by validate, render, bump, build, plan and reconcile:
// the services' dependsOn has no cycle, and each rendered file is something the environment's target can
// take (a docker spec with a string image, a unit file that parses). What plan refuses, these refuse too.
import { dependencyLevels } from "../apply/order.js";
import type { SysconfigConfig } from "../config/schema.js";
import { InvalidInputError } from "../errors.js";
import type { RenderedFile } from "../render/render.js";
import { checkTargetCanTake } from "../targets/check-rendered.js";

/** Throws InvalidInputError when the services' dependsOn entries form a cycle. */
export function checkDependencies(config: SysconfigConfig): void {
  dependencyLevels(config.services);
}

/**
 * Throws InvalidInputError when `files` (a render for `environment`, all of it or one service's) hold
 * something the environment's target kind cannot apply.
 */
export async function checkRenderedFiles(
  config: SysconfigConfig,
  environment: string,
  files: RenderedFile[],
): Promise<void> {
  const target = config.environments[environment]?.target;
  if (target === undefined) throw new InvalidInputError(`unknown environment '${environment}'`);
  await checkTargetCanTake(target.kind, {
    system: config.name,
    environment,
    revision: "unknown",
    target,
    services: config.services,
    files,
  });
}

/** Both checks: what every command that renders or bakes a state runs before using it. */
export async function checkDesired(
  config: SysconfigConfig,
  environment: string,
  files: RenderedFile[],
): Promise<void> {
  checkDependencies(config);
  await checkRenderedFiles(config, environment, files);
}
