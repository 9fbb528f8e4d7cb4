// Connects dockerode to a Docker host address: --endpoint, the config's endpoint, DOCKER_HOST, or the
// local socket. TLS for tcp:// follows the docker CLI's DOCKER_TLS_VERIFY / DOCKER_CERT_PATH. Every request
// is bounded: a host that accepts the connection and never answers fails after the request timeout.
import { readFileSync } from "node:fs";
import path from "node:path";
import Dockerode from "dockerode";
import { InvalidInputError, reasonOf } from "../../errors.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../target.js";
import { parseDockerHost, type DockerHostAddress } from "./endpoint.js";
import { boundEngineConnect } from "./connect-bound.js";
import { EngineTimeoutError } from "./engine-errors.js";

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** The address to use and where it came from (said when it is invalid). */
export function dockerAddress(
  endpoint: { value: string; from: string } | undefined,
  env: NodeJS.ProcessEnv,
): { value: string; from: string } {
  if (endpoint !== undefined) return endpoint;
  if (env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== "")
    return { value: env.DOCKER_HOST, from: "DOCKER_HOST" };
  return { value: `unix://${DEFAULT_DOCKER_SOCKET}`, from: "the default" };
}

export function connectDocker(
  address: { value: string; from: string },
  env: NodeJS.ProcessEnv,
  timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
): Dockerode {
  const host = parseDockerHost(address.value, address.from, ["unix", "tcp", "http", "https"]);
  const docker = boundEngineConnect(dockerodeFor(host, address, env, timeoutMs), timeoutMs, host.shown);
  return bounded(docker, host, timeoutMs);
}

function dockerodeFor(
  host: DockerHostAddress,
  address: { value: string; from: string },
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Dockerode {
  // The silence bound (the socket's idle time); the connect bound is added by boundEngineConnect, since
  // docker-modem's connectionTimeout runs until the engine answers (connect-bound.ts).
  const timeouts = { timeout: timeoutMs } as Dockerode.DockerOptions;
  if (host.kind === "unix") return new Dockerode({ socketPath: host.socketPath, ...timeouts });
  if (host.kind !== "tcp") throw new InvalidInputError(`docker endpoint '${address.value}' is not supported`);
  const tls = host.scheme === "https" || (env.DOCKER_TLS_VERIFY ?? "") !== "";
  const port = host.port ?? (tls ? 2376 : 2375);
  if (!tls) return new Dockerode({ host: host.host, port, protocol: "http", ...timeouts });
  const certs = env.DOCKER_CERT_PATH ?? path.join(env.HOME ?? "", ".docker");
  try {
    return new Dockerode({
      host: host.host,
      port,
      protocol: "https",
      ca: readFileSync(path.join(certs, "ca.pem")),
      cert: readFileSync(path.join(certs, "cert.pem")),
      key: readFileSync(path.join(certs, "key.pem")),
      ...timeouts,
    });
  } catch (error) {
    throw new InvalidInputError(
      `docker endpoint '${address.value}' (from ${address.from}) is invalid: cannot read TLS certificates from ` +
        `${certs} (ca.pem, cert.pem, key.pem): ${reasonOf(error)}. Set DOCKER_CERT_PATH to the directory holding them.`,
      { cause: error },
    );
  }
}

type Dial = (options: unknown, callback: (error: unknown, result?: unknown) => void) => void;

/**
 * docker-modem ends a request that hit its timeout with a bare "socket hang up", which reads (and was retried)
 * like a connection reset: a request that failed after the whole bound is reported as the timeout it was,
 * and is not retried (three attempts of 60 s made a silent engine cost three minutes).
 */
function bounded(docker: Dockerode, host: DockerHostAddress, timeoutMs: number): Dockerode {
  const modem = docker.modem as unknown as { dial: Dial };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    const started = Date.now();
    dial(options, (error, result) => {
      if (error !== null && error !== undefined && Date.now() - started >= timeoutMs - 50) {
        callback(new EngineTimeoutError(host.shown, timeoutMs, error), result);
        return;
      }
      callback(error, result);
    });
  };
  return docker;
}
