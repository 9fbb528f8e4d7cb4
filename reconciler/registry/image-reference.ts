// Docker's image reference grammar (distribution/reference), in one place for sysconfig.yaml's `image`,
// build's --image and --base: [host[:port]/]path[:tag][@algorithm:hex].
// - The registry host is DNS labels (upper case allowed, as Docker allows), an IPv4 address or [IPv6];
//   the first part is a host only when it has a '.' or ':', is "localhost", or has an upper-case letter.
// - The port is 1–65535 (Docker's grammar takes any digits; no registry can listen on 99999).
// - The repository path is lower case: components of [a-z0-9] joined by '.', '_', '__' or '-'s.
// - A tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a sha256 digest is exactly 64 lower-case hex digits.

export interface ImageReference {
  /** `registry.example.com:5000`, or undefined for Docker Hub. */
  host: string | undefined;
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\]$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
/** Docker's limit on a repository name (host and path). */
const MAX_NAME = 255;

/** The parts of `value`, or the reason it is not an image reference (said after "not an image reference: "). */
export function parseImageReference(value: string): ImageReference | { problem: string } {
  if (value.length === 0) return { problem: "it is empty" };
  if (/[^\x21-\x7e]/.test(value)) return { problem: "it holds spaces or characters outside printable ASCII" };
  let rest = value;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem !== undefined) return { problem };
  }
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  const isHost =
    first !== "" && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  let host: string | undefined;
  if (isHost) {
    const problem = hostProblem(first);
    if (problem !== undefined) return { problem };
    host = first;
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      return {
        problem: `the tag ${JSON.stringify(tag.slice(0, 40))} is not a Docker tag (letters, digits, '_', '.', '-'; at most 128)`,
      };
    }
  }
  for (const component of rest.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      return {
        problem:
          component !== component.toLowerCase()
            ? `the repository path has upper-case letters (${JSON.stringify(component.slice(0, 40))}); Docker takes ` +
              `only lower-case paths (the registry host may have upper case)`
            : `the repository path part ${JSON.stringify(component.slice(0, 40))} is not lower-case letters and digits ` +
              `joined by '.', '_', '__' or '-'`,
      };
    }
  }
  const nameLength = (host === undefined ? 0 : host.length + 1) + rest.length;
  if (nameLength > MAX_NAME)
    return { problem: `the name is ${nameLength} characters long (at most ${MAX_NAME})` };
  return { host, path: rest, tag, digest };
}

function hostProblem(hostPort: string): string | undefined {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  const host = match?.[1] ?? "";
  const port = match?.[2];
  if (port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return `the registry port ${JSON.stringify(port.slice(0, 20))} is not a port number (1 to 65535)`;
    }
  }
  if (host.startsWith("["))
    return IPV6.test(host) ? undefined : `the registry host ${host} is not an IPv6 address`;
  if (host === "" || !host.split(".").every((label) => DOMAIN_LABEL.test(label))) {
    return `the registry host ${JSON.stringify(host.slice(0, 60))} is not a host name (letters, digits and '-' between dots)`;
  }
  return undefined;
}

function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(":");
  const algorithm = colon < 0 ? "" : digest.slice(0, colon);
  const hex = colon < 0 ? "" : digest.slice(colon + 1);
  if (!ALGORITHM.test(algorithm) || hex === "") {
    return `the digest after '@' is not <algorithm>:<hex> (e.g. @sha256: and 64 hex digits)`;
  }
  if (algorithm === "sha256" && !/^[0-9a-f]{64}$/.test(hex)) {
    return `a sha256 digest is exactly 64 lower-case hex digits (got ${hex.length} characters)`;
  }
  if (algorithm !== "sha256" && !/^[0-9a-fA-F]{32,}$/.test(hex)) {
    return `the digest's hex part is not at least 32 hex digits`;
  }
  return undefined;
}

/**
 * Why `value` is not a repository name as sysconfig.yaml's `image` takes it (host and path; the tag comes
 * from `tag:` and bump, so neither a tag nor a digest belongs here), or undefined when it is one.
 */
export function repositoryProblem(value: string): string | undefined {
  const parsed = parseImageReference(value);
  if ("problem" in parsed) return parsed.problem;
  if (parsed.digest !== undefined) {
    return (
      "it pins a digest (@…): sysconfig deploys by tag (the service's tag:, set by bump), so give the " +
      "repository alone; digests are not supported here"
    );
  }
  if (parsed.tag !== undefined)
    return `it has a tag (:${parsed.tag}); the tag goes in the service's tag: field`;
  return undefined;
}
