// Checks the bump's inputs before anything is touched: tag, service name and branch (DESIGN §4).
import { MAX_TAG_LENGTH, SERVICE_NAME, TAG } from "../../reconciler/config/schema.js";
import { InvalidInputError } from "../../reconciler/errors.js";

/** A git branch we are willing to pass to git: no leading '-', no '..', no control or shell characters. */
const BRANCH = /^[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}$/;

/** How a rejected value is shown: quoted, control characters made visible, long values cut. */
export function shown(value: string): string {
  const json = JSON.stringify(value);
  return json.length > 90 ? `${json.slice(0, 87)}..."` : json;
}

export function validateTag(tag: string): void {
  if (tag.length > MAX_TAG_LENGTH || !TAG.test(tag)) {
    const why =
      tag.length > MAX_TAG_LENGTH
        ? `it is ${tag.length} characters long (at most ${MAX_TAG_LENGTH})`
        : "it does not match <build_num>-<branch> (digits, '-', then letters, digits, '_', '.' or '-')";
    throw new InvalidInputError(
      `tag ${shown(tag)} bump failed: ${why}. Tags follow Docker's tag grammar ` +
        `^[0-9]+-[A-Za-z0-9_][A-Za-z0-9_.-]*$, e.g. 58-develop; spaces, newlines, '/' and shell or template ` +
        `characters are refused so a tag can never inject a line into a unit file. Pass the tag CI pushed. Nothing was changed.`,
    );
  }
}

export function validateServiceName(service: string): void {
  if (!SERVICE_NAME.test(service)) {
    throw new InvalidInputError(
      `service ${shown(service)} bump failed: not a service name (lowercase letters, digits and '-', ` +
        `starting with a letter or digit, at most 63 characters). Use the name as written under services: ` +
        `in sysconfig.yaml. Nothing was changed.`,
    );
  }
}

export function validateBranch(branch: string, from: string): void {
  if (!BRANCH.test(branch) || branch.includes("..") || branch.endsWith(".lock") || branch.endsWith("/")) {
    throw new InvalidInputError(
      `branch ${shown(branch)} (${from}) bump failed: not a branch name sysconfig accepts (letters, digits, ` +
        `'_', '.', '-' and '/', not starting with '-'). Pass --branch with one of the config repo's environments. ` +
        `Nothing was changed.`,
    );
  }
}

/** The branch part of a valid tag: `58-develop` → `develop`. */
export function branchOfTag(tag: string): string {
  return tag.slice(tag.indexOf("-") + 1);
}

/** The build number of a valid tag, as a bigint so long CI numbers compare exactly. */
export function buildNumberOf(tag: string): bigint {
  return BigInt(tag.slice(0, tag.indexOf("-")));
}
