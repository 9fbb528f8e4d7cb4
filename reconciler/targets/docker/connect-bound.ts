// A real connect bound for dockerode. docker-modem's `connectionTimeout` is cleared only when the engine
// *answers*, so it bounds the time to the first byte of the response, not the connection: a build answers
// only once its whole context is uploaded and read, and on a loaded engine a 60 MB context outlasted a
// 15 s bound and was cut ("socket hang up"). Here the bound is armed when the socket is created and cleared
// when it connects (TLS: when the handshake ends); after that only the silence bound (docker-modem's
// `timeout`, the socket's idle time: any byte either way resets it) applies, on every engine call alike
// (build, push, pull, load, logs, wait, events).
import type { Agent as HttpAgent } from "node:http";
import { http, https } from "../../node-http.js";
import type net from "node:net";
import type Dockerode from "dockerode";

/** The engine's socket did not connect within the bound. Not transient: it is not retried. */
export class EngineConnectTimeoutError extends Error {
  readonly code = "ECONNECTTIMEOUT";
  constructor(shown: string, connectMs: number) {
    super(`no connection to the Docker engine at ${shown} within ${connectMs / 1000} s`);
    this.name = "EngineConnectTimeoutError";
  }
}

type CreateConnection = (
  options: object,
  callback?: (error: Error | null, socket?: net.Socket) => void,
) => net.Socket;

/** An agent for `protocol` whose sockets must connect within `connectMs`. */
export function connectBoundAgent(protocol: "http" | "https", connectMs: number, shown: string): HttpAgent {
  const agent =
    protocol === "https" ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const withCreate = agent as unknown as { createConnection: CreateConnection };
  const create = withCreate.createConnection.bind(agent);
  withCreate.createConnection = (options, callback) => {
    const socket = create(options, callback);
    const connected = protocol === "https" ? "secureConnect" : "connect";
    const timer = setTimeout(
      () => socket.destroy(new EngineConnectTimeoutError(shown, connectMs)),
      connectMs,
    );
    timer.unref();
    const clear = () => clearTimeout(timer);
    socket.once(connected, clear);
    socket.once("close", clear);
    return socket;
  };
  return agent;
}

/**
 * Replaces docker-modem's time-to-first-byte `connectionTimeout` with a connect bound on `docker`'s
 * sockets. ssh:// engines keep docker-modem's own ssh agent (ssh2 bounds its handshake itself).
 */
export function boundEngineConnect(docker: Dockerode, connectMs: number, shown: string): Dockerode {
  const modem = docker.modem as unknown as {
    protocol?: string;
    agent?: HttpAgent;
    connectionTimeout?: number;
  };
  modem.connectionTimeout = undefined;
  if (modem.protocol === "http" || modem.protocol === "https") {
    modem.agent = connectBoundAgent(modem.protocol, connectMs, shown);
  }
  return docker;
}
