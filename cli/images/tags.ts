// The config image's references: IMAGE:BRANCH (moving), IMAGE:BUILDNUM-BRANCH and IMAGE:git-SHORTSHA
// (immutable), and where the build number comes from.
import { InvalidInputError } from "../../reconciler/errors.js";
import { repositoryProblem } from "../../reconciler/registry/image-reference.js";
import { escapeControls } from "../../reconciler/text/escape.js";

/** CI systems' build-number variables, in the order they are consulted. */
export const BUILD_NUMBER_VARIABLES = [
  "BUILD_NUMBER",
  "GITHUB_RUN_NUMBER",
  "CI_PIPELINE_IID",
  "CIRCLE_BUILD_NUM",
] as const;

/** CI systems' branch variables, for a detached-HEAD checkout. */
export const BRANCH_VARIABLES = [
  "BRANCH_NAME",
  "GITHUB_REF_NAME",
  "CI_COMMIT_REF_NAME",
  "CIRCLE_BRANCH",
] as const;

export interface BuildNumber {
  value: string | undefined;
  /** Where it came from: "--build-num", a variable name, or undefined when there is none. */
  from: string | undefined;
}

export function resolveBuildNumber(explicit: string | undefined, env: NodeJS.ProcessEnv): BuildNumber {
  const candidates: [string | undefined, string][] = [
    [explicit, "--build-num"],
    ...BUILD_NUMBER_VARIABLES.map((name): [string | undefined, string] => [env[name], name]),
  ];
  for (const [value, from] of candidates) {
    if (value === undefined || value === "") continue;
    if (!/^[0-9]{1,18}$/.test(value)) {
      throw new InvalidInputError(
        `build number '${escapeControls(value)}' from ${from} is not a whole number: the <n>-<branch> tag needs digits only (e.g. --build-num 58).`,
      );
    }
    return { value, from };
  }
  return { value: undefined, from: undefined };
}

/** A branch name as a Docker tag: `feature/x` becomes `feature-x`. */
export function branchTag(branch: string): string {
  const tag = branch.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[.-]+/, "");
  return tag.slice(0, 100) || "branch";
}

/** Validates an image repository (registry host optional, no tag, no digest) by Docker's grammar. */
export function checkRepository(image: string, from: string): string {
  const problem = repositoryProblem(image);
  if (problem !== undefined) {
    throw new InvalidInputError(
      `image repository '${escapeControls(image)}' from ${from} is not a valid Docker repository name: ${problem}. ` +
        `Expected e.g. registry.example.com/acme/sysconfig (lower-case path, no tag).`,
    );
  }
  return image;
}

export function configImageTags(branch: string, revision: string, buildNumber: string | undefined): string[] {
  const b = branchTag(branch);
  // Immutable tags first: if a push fails midway, the moving branch tag has not moved yet.
  return [`git-${revision.slice(0, 7)}`, ...(buildNumber === undefined ? [] : [`${buildNumber}-${b}`]), b];
}
