// Resolves --repo to a local directory and the environment (branch) being worked on.
import { existsSync } from "node:fs";
import path from "node:path";
import { simpleGit } from "simple-git";
import { InvalidInputError } from "../reconciler/errors.js";
import type { SysconfigConfig } from "../reconciler/config/schema.js";

/** The environment to render for: --environment, else the repo's current branch. */
export async function resolveEnvironment(
  repoDir: string,
  config: SysconfigConfig,
  explicit: string | undefined,
): Promise<string> {
  let name = explicit;
  if (name === undefined) {
    if (!existsSync(path.join(repoDir, ".git"))) {
      throw new InvalidInputError(
        `${repoDir} is not a git checkout, so the environment cannot be taken from its branch. Pass --environment NAME.`,
      );
    }
    name = (await simpleGit(repoDir).revparse(["--abbrev-ref", "HEAD"])).trim();
  }
  if (!(name in config.environments)) {
    throw new InvalidInputError(
      `'${name}' is not an environment of ${config.name}: sysconfig.yaml lists ${Object.keys(config.environments).join(", ")}. ` +
        `Check out one of those branches or pass --environment.`,
    );
  }
  return name;
}
