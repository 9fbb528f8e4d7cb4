// The Docker engine adapter for build and push: a dockerode client from the docker CLI's environment
// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH; else the default socket), and the engine's
// JSON-lines progress streams turned into events and typed errors.
import Docker from "dockerode";
import { InvalidInputError, reasonOf, RuntimeFailureError } from "../../reconciler/errors.js";
import { boundEngineConnect } from "../../reconciler/targets/docker/connect-bound.js";
import { parseDockerHost } from "../../reconciler/targets/docker/endpoint.js";
import { MAX_TIMER_SECONDS } from "../number-flags.js";

export interface EngineEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

/**
 * How long connecting to the engine may take: an unreachable DOCKER_HOST fails instead of hanging. A real
 * connect bound, cleared when the socket connects (reconciler/targets/docker/connect-bound.ts); the time
 * a build takes to upload its context and get the engine's first answer is under the silence bound.
 */
export const CONNECT_TIMEOUT_MS = 15_000;
/**
 * How long the engine may stay silent on one request before it is abandoned. A build or push streams
 * progress; a silent step (a long RUN without output) may last minutes, hence generous.
 */
export const SILENCE_TIMEOUT_MS = 600_000;

/**
 * A dockerode client configured the way the docker CLI is: docker-modem reads DOCKER_HOST (unix://, tcp://,
 * ssh://, npipe://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH from the process environment itself; this adds
 * the timeouts (DOCKER_CLIENT_TIMEOUT, in seconds, replaces the silence timeout).
 */
export function dockerClient(
  env: NodeJS.ProcessEnv,
  timeouts: { connectMs?: number; silenceMs?: number } = {},
): Docker {
  const fromEnv = checkDockerEnvironment(env);
  const options: Docker.DockerOptions = {
    timeout: timeouts.silenceMs ?? fromEnv ?? SILENCE_TIMEOUT_MS,
    ...defaultTcpPort(env),
  };
  return boundEngineConnect(
    new Docker(options),
    timeouts.connectMs ?? CONNECT_TIMEOUT_MS,
    engineAddress(env),
  );
}

/**
 * Refuses (exit 3) a DOCKER_HOST that is not an engine address and a DOCKER_CLIENT_TIMEOUT that is not a whole
 * number of seconds within Node's timer limit, before anything connects; returns that timeout in ms.
 */
export function checkDockerEnvironment(env: NodeJS.ProcessEnv): number | undefined {
  if (env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== "") {
    parseDockerHost(env.DOCKER_HOST, "DOCKER_HOST", ["unix", "tcp", "ssh", "npipe"]);
  }
  // In seconds, as docker compose reads it (docker-modem alone would take milliseconds: 120 would be 0.12 s).
  const raw = env.DOCKER_CLIENT_TIMEOUT ?? "";
  if (raw === "") return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_TIMER_SECONDS) {
    throw new InvalidInputError(
      `DOCKER_CLIENT_TIMEOUT=${JSON.stringify(raw)} is invalid: expected a whole number of seconds from 1 to ` +
        `${MAX_TIMER_SECONDS} (Node's timer limit, about 24 days), digits only. Fix or unset it. Nothing was changed.`,
    );
  }
  return value * 1000;
}

/**
 * docker-modem connects a DOCKER_HOST without a port (tcp://host) to port 80; the docker CLI uses 2375, or
 * 2376 (and TLS) when DOCKER_TLS_VERIFY is set. Only tcp:// (or a bare host) gets the default; ssh:// keeps 22.
 */
export function defaultTcpPort(env: NodeJS.ProcessEnv): { port?: string; protocol?: "https" } {
  const host = env.DOCKER_HOST ?? "";
  if (host === "" || /^(unix|npipe|ssh):\/\//i.test(host)) return {};
  let url: URL;
  try {
    url = new URL(host.includes("//") ? host : `tcp://${host}`);
  } catch {
    return {}; // docker-modem reports the malformed DOCKER_HOST itself
  }
  if (url.port !== "") return {};
  const tls = (env.DOCKER_TLS_VERIFY ?? "") !== "";
  return tls ? { port: "2376", protocol: "https" } : { port: "2375" };
}

export function engineAddress(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== ""
    ? env.DOCKER_HOST
    : "unix:///var/run/docker.sock";
}

/** Wraps a dockerode failure as `<subject> <operation> failed: <reason>`; 5xx and resets are transient. */
export function engineError(subject: string, error: unknown, hint = ""): RuntimeFailureError {
  const status = (error as { statusCode?: number }).statusCode;
  const code = (error as { code?: string }).code;
  const body = (error as { json?: { message?: string } }).json?.message;
  const reason = (body ?? reasonOf(error)).trim();
  const transient =
    (status !== undefined && status >= 500) ||
    code === "ECONNRESET" ||
    code === "ECONNREFUSED" ||
    status === 429;
  const unreachable =
    code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES"
      ? " — is the Docker engine running, and is DOCKER_HOST right?"
      : "";
  return new RuntimeFailureError(`${subject} failed: ${reason}${unreachable}${hint}`, {
    cause: error,
    transient,
  });
}

/** Reads an engine progress stream to its end; the first error event rejects with its message. */
export function followStream(
  stream: NodeJS.ReadableStream,
  onEvent: (event: EngineEvent) => void,
): Promise<EngineEvent[]> {
  return new Promise((resolve, reject) => {
    const events: EngineEvent[] = [];
    let buffer = "";
    let failed: EngineEvent | undefined;
    const handle = (line: string) => {
      const trimmed = line.trim();
      if (trimmed === "") return;
      let event: EngineEvent;
      try {
        event = JSON.parse(trimmed) as EngineEvent;
      } catch {
        event = { stream: `${trimmed}\n` };
      }
      events.push(event);
      if ((event.error !== undefined || event.errorDetail !== undefined) && failed === undefined)
        failed = event;
      onEvent(event);
    };
    stream.on("data", (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        handle(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    stream.on("error", reject);
    stream.on("end", () => {
      handle(buffer);
      if (failed !== undefined) {
        reject(
          new StreamError(failed.errorDetail?.message ?? failed.error ?? "unknown engine error", events),
        );
      } else {
        resolve(events);
      }
    });
  });
}

/** An error event inside an engine stream (the HTTP status was already 200). */
export class StreamError extends Error {
  constructor(
    message: string,
    readonly events: EngineEvent[],
  ) {
    super(message);
    this.name = "StreamError";
  }
}
