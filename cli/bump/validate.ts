// Checks the bump's inputs before anything is touched: tag, service name and branch (DESIGN §4).
import { MAX_TAG_LENGTH, SERVICE_NAME, TAG } from "../../reconciler/config/schema.js";
import { InvalidInputError } from "../../reconciler/errors.js";
import { shown } from "../../reconciler/text/escape.js";

/** How a rejected value is shown: quoted, control characters made visible, long values cut. */
export { shown };

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

/** The rule of git's ref names (git check-ref-format) or of sysconfig's branch names that `branch` breaks, if any. */
function branchRuleBroken(branch: string): string | undefined {
  if (branch.length > 128) return `it is ${branch.length} characters long (at most 128)`;
  if (branch.startsWith("-")) return "it starts with '-' (git would read it as an option)";
  if (!/^[A-Za-z0-9_]/.test(branch)) return "it does not start with a letter, digit or '_'";
  const bad = /[^A-Za-z0-9_./-]/.exec(branch);
  if (bad) return `it holds ${shown(bad[0])} (only letters, digits, '_', '.', '-' and '/' are accepted)`;
  if (branch.includes("..")) return "it holds '..', which git refuses in a ref name (a..b means a range)";
  if (branch.endsWith(".lock"))
    return "it ends with '.lock', which git refuses in a ref name (git's lock files)";
  if (branch.endsWith("/") || branch.includes("//"))
    return "it has an empty '/'-separated part, which git refuses";
  if (branch.endsWith(".")) return "it ends with '.', which git refuses in a ref name";
  if (/(^|\/)\./.test(branch)) return "a '/'-separated part starts with '.', which git refuses in a ref name";
  if (/\.lock\//.test(branch))
    return "a '/'-separated part ends with '.lock', which git refuses in a ref name";
  return undefined;
}

export function validateBranch(branch: string, from: string): void {
  const broken = branchRuleBroken(branch);
  if (broken !== undefined) {
    throw new InvalidInputError(
      `branch ${shown(branch)} (${from}) bump failed: not a branch name: ${broken}. A branch is letters, digits, ` +
        `'_', '.', '-' and '/', following git's ref rules (git check-ref-format). Pass --branch with one of the ` +
        `config repo's environments, or a tag whose part after '<build_num>-' is such a branch. Nothing was changed.`,
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
