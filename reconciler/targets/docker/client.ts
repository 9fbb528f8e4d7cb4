// Connects dockerode to a Docker host address: --endpoint, the config's endpoint, DOCKER_HOST, or the
// local socket. TLS for tcp:// follows the docker CLI's DOCKER_TLS_VERIFY / DOCKER_CERT_PATH.
import { readFileSync } from "node:fs";
import path from "node:path";
import Dockerode from "dockerode";
import { InvalidInputError, reasonOf } from "../../errors.js";

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
/** Idle timeout of one engine request; pulls and waits stream or poll, so they never sit idle this long. */
const REQUEST_TIMEOUT_MS = 60_000;

export function dockerAddress(endpoint: string | undefined, env: NodeJS.ProcessEnv): string {
  return endpoint ?? (env.DOCKER_HOST || `unix://${DEFAULT_DOCKER_SOCKET}`);
}

export function connectDocker(address: string, env: NodeJS.ProcessEnv): Dockerode {
  let url: URL;
  try {
    url = new URL(address);
  } catch (error) {
    throw invalid(address, "not a URL", error);
  }
  switch (url.protocol) {
    case "unix:":
      return new Dockerode({ socketPath: url.pathname, timeout: REQUEST_TIMEOUT_MS });
    case "tcp:":
    case "http:":
    case "https:": {
      const tls = url.protocol === "https:" || (env.DOCKER_TLS_VERIFY ?? "") !== "";
      const port = url.port || (tls ? "2376" : "2375");
      if (!tls)
        return new Dockerode({ host: url.hostname, port, protocol: "http", timeout: REQUEST_TIMEOUT_MS });
      const certs = env.DOCKER_CERT_PATH ?? path.join(env.HOME ?? "", ".docker");
      try {
        return new Dockerode({
          host: url.hostname,
          port,
          protocol: "https",
          ca: readFileSync(path.join(certs, "ca.pem")),
          cert: readFileSync(path.join(certs, "cert.pem")),
          key: readFileSync(path.join(certs, "key.pem")),
          timeout: REQUEST_TIMEOUT_MS,
        });
      } catch (error) {
        throw invalid(
          address,
          `cannot read TLS certificates from ${certs} (ca.pem, cert.pem, key.pem)`,
          error,
        );
      }
    }
    default:
      throw invalid(address, `unsupported scheme '${url.protocol}' (use unix://, tcp:// or https://)`);
  }
}

function invalid(address: string, reason: string, cause?: unknown): InvalidInputError {
  const detail = cause === undefined ? "" : ` (${reasonOf(cause)})`;
  return new InvalidInputError(
    `docker endpoint '${address}' is invalid: ${reason}${detail}. Pass e.g. --endpoint unix:///var/run/docker.sock.`,
    { cause },
  );
}
