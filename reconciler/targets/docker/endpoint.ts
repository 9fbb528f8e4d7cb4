// Parses a Docker host address (DOCKER_HOST, --endpoint, the config's endpoint) strictly, before anything
// connects: `unix://` without a path, or `bogus`, is invalid input (exit 3), not a connection to
// 127.0.0.1:80 or a DNS lookup of "bogus".
import { InvalidInputError } from "../../errors.js";

export type DockerScheme = "unix" | "tcp" | "http" | "https" | "ssh" | "npipe";

export type DockerHostAddress =
  | { kind: "unix"; scheme: "unix"; socketPath: string; shown: string }
  | { kind: "tcp"; scheme: "tcp" | "http" | "https"; host: string; port?: number; shown: string }
  | { kind: "other"; scheme: "ssh" | "npipe"; shown: string };

const FORMS: Record<DockerScheme, string> = {
  unix: "unix:///var/run/docker.sock",
  tcp: "tcp://HOST:2375 (TLS with DOCKER_TLS_VERIFY=1, port 2376)",
  http: "http://HOST:2375",
  https: "https://HOST:2376",
  ssh: "ssh://USER@HOST",
  npipe: "npipe:////./pipe/docker_engine",
};

/** `from` says where the address came from (--endpoint, DOCKER_HOST, …); `schemes` are the accepted ones. */
export function parseDockerHost(
  raw: string,
  from: string,
  schemes: readonly DockerScheme[],
): DockerHostAddress {
  const invalid = (reason: string) =>
    new InvalidInputError(
      `docker endpoint ${JSON.stringify(raw)} (from ${from}) is invalid: ${reason}. Accepted forms: ` +
        `${schemes.map((s) => FORMS[s]).join(", ")}. Nothing was changed.`,
    );
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // The docker CLI reads a bare "host" as tcp://host; sysconfig asks for the scheme, so a stray word is not
    // looked up in DNS and connected to.
    const bare = /^[A-Za-z0-9.-]+(:\d+)?$/.test(raw) && schemes.includes("tcp");
    throw invalid(
      bare
        ? `it has no scheme (write tcp://${raw}${raw.includes(":") ? "" : ":2375"} for a TCP engine)`
        : "it has no scheme (e.g. unix:// or tcp://)",
    );
  }
  if (!(schemes as readonly string[]).includes(scheme))
    throw invalid(`scheme '${scheme}://' is not supported`);
  if (scheme === "unix") {
    const socketPath = raw.slice("unix://".length);
    if (!socketPath.startsWith("/") || /[\p{Cc}]/u.test(socketPath)) {
      throw invalid("a unix endpoint needs an absolute socket path after unix://");
    }
    return { kind: "unix", scheme, socketPath, shown: raw };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw Object.assign(invalid("not a URL"), { cause: error });
  }
  if (scheme === "ssh" || scheme === "npipe") return { kind: "other", scheme, shown: raw };
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw invalid("it names no host");
  if (url.username !== "" || url.password !== "") throw invalid("credentials do not go in the address");
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    throw invalid("it has a path or query; give only scheme://HOST:PORT");
  }
  return {
    kind: "tcp",
    scheme: scheme as "tcp" | "http" | "https",
    host,
    ...(url.port === "" ? {} : { port: Number(url.port) }),
    shown: raw,
  };
}
