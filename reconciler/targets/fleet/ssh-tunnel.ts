// An SSH tunnel to fleetd through zero or more jump hosts (ssh2): connect to the first hop, forward a
// channel to the next hop and run SSH over it, and so on; on the last host open a streamlocal channel
// to fleet's unix socket (or a TCP channel for http:// endpoints). Every hop's host key is checked
// against the known_hosts file before any credential or request is sent.
import { readFile } from "node:fs/promises";
import type { Duplex } from "node:stream";
import { Client, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from "ssh2";
import type * as z from "zod/mini";
import type { tunnelSchema } from "../../config/schema.js";
import { InvalidInputError, RuntimeFailureError, reasonOf } from "../../errors.js";
import type { Reporter } from "../../report/reporter.js";
import type { FleetEndpoint } from "./endpoint.js";
import {
  hostPattern,
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
} from "./known-hosts.js";

export type TunnelConfig = z.infer<typeof tunnelSchema>;
type Hop = TunnelConfig["host"];

export interface SshTunnel {
  /** Opens one channel to fleetd; the SSH chain is set up on first use and reused. */
  connect(endpoint: FleetEndpoint): Promise<Duplex>;
  close(): Promise<void>;
}

export interface SshTunnelOptions {
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  /** How long one hop's TCP connect + SSH handshake + authentication may take. */
  readyTimeoutMs?: number;
  /** How long opening one channel (to the next hop, or to fleetd) may take. */
  channelTimeoutMs?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_CHANNEL_TIMEOUT_MS = 15_000;

/** Host key algorithms ssh2 can verify, per known_hosts key type (an RSA key signs with three). */
const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

const seconds = (ms: number): number => ms / 1000;
const hopName = (hop: Hop): string => `${hop.user}@${hostPattern(hop.host, hop.port)}`;

export function createSshTunnel(config: TunnelConfig, options: SshTunnelOptions): SshTunnel {
  const hops = [...config.jump, config.host];
  const channelTimeoutMs = options.channelTimeoutMs ?? DEFAULT_CHANNEL_TIMEOUT_MS;
  let chain: Promise<Client[]> | undefined;
  let clients: Client[] = [];
  /**
   * Every client created and not yet closed, in creation order (jump hosts before the hosts behind them).
   * close() ends them all: a client left open keeps its socket and keepalive timer, and so the process, alive.
   */
  const live = new Set<Client>();

  /** Ends `hops` innermost first: an inner hop runs over a channel of the one before it. */
  function endAll(hops: Iterable<Client>): void {
    for (const c of [...hops].reverse()) c.end();
  }

  /** Drops the current chain (stalled or broken); the next connect() builds a new one. */
  function reset(): void {
    chain = undefined;
    endAll(clients);
    clients = [];
  }

  async function build(): Promise<Client[]> {
    let knownHostsText: string;
    try {
      knownHostsText = await readFile(config.knownHosts, "utf8");
    } catch (error) {
      throw new InvalidInputError(
        `ssh tunnel known_hosts read failed: cannot read ${config.knownHosts} (${reasonOf(error)}). ` +
          `Point tunnel.knownHosts at a known_hosts file holding every hop's host key.`,
        { cause: error },
      );
    }
    const knownHosts = parseKnownHosts(knownHostsText);
    const built: Client[] = [];
    clients = built;
    let sock: Duplex | undefined;
    for (const [index, hop] of hops.entries()) {
      // A hop that drops later ends this whole chain (never a newer one): the hops before it would stay
      // connected, useless, with their keepalive timers holding the process open. The next request rebuilds.
      const lost = (): void => {
        if (clients === built) {
          chain = undefined;
          clients = [];
        }
        endAll(built);
      };
      const client = await connectHop(hop, sock, knownHosts, config.knownHosts, options, (error) => {
        options.reporter.warn(
          `ssh connection to ${hopName(hop)} failed: ${reasonOf(error)}; reconnecting on next use`,
        );
        lost();
      });
      built.push(client);
      live.add(client);
      client.on("close", () => {
        live.delete(client);
        lost();
      });
      const next = hops[index + 1];
      if (next) sock = await forward(client, hop, next.host, next.port, channelTimeoutMs);
      options.reporter.debug(`ssh: connected to ${hopName(hop)}`);
    }
    return built;
  }

  return {
    async connect(endpoint: FleetEndpoint): Promise<Duplex> {
      chain ??= build().catch((error: unknown) => {
        reset();
        throw error;
      });
      const last = (await chain).at(-1);
      if (!last) throw new RuntimeFailureError("ssh tunnel connect failed: no hosts");
      const host = config.host;
      try {
        if (endpoint.kind === "unix") {
          return await openChannel(
            `ssh tunnel to ${hopName(host)} open ${endpoint.socketPath}`,
            channelTimeoutMs,
            false,
            (done) => last.openssh_forwardOutStreamLocal(endpoint.socketPath, done),
          );
        }
        return await forward(last, host, endpoint.host, endpoint.port, channelTimeoutMs);
      } catch (error) {
        // No answer in time: the SSH connection is stalled, so later requests start over.
        if (error instanceof ChannelTimeoutError) reset();
        throw error;
      }
    },
    async close(): Promise<void> {
      if (chain) await chain.catch(() => undefined);
      chain = undefined;
      clients = [];
      endAll(live);
    },
  };
}

class ChannelTimeoutError extends RuntimeFailureError {}

/** Opens one channel, failing with `what` when it is refused or not answered within `timeoutMs`. */
function openChannel(
  what: string,
  timeoutMs: number,
  transient: boolean,
  open: (done: (error: Error | undefined, channel: ClientChannel) => void) => void,
): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(
        new ChannelTimeoutError(
          `${what} failed: no answer within ${seconds(timeoutMs)} s; the SSH connection looks stalled and is ` +
            `dropped (the next run reconnects). If it is only slow, raise --request-timeout SECONDS ` +
            `(SYSCONFIG_REQUEST_TIMEOUT)`,
          // Not retried: the bound is on the whole wait.
          { transient: false },
        ),
      );
    }, timeoutMs);
    open((error, channel) => {
      clearTimeout(timer);
      if (settled) {
        channel?.close(); // answered after we gave up: do not leak the channel
        return;
      }
      settled = true;
      if (error)
        reject(new RuntimeFailureError(`${what} failed: ${reasonOf(error)}`, { cause: error, transient }));
      else resolve(channel);
    });
  });
}

function forward(client: Client, via: Hop, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return openChannel(`ssh tunnel via ${hopName(via)} forward to ${host}:${port}`, timeoutMs, true, (done) =>
    client.forwardOut("127.0.0.1", 0, host, port, done),
  );
}

async function connectHop(
  hop: Hop,
  sock: Duplex | undefined,
  knownHosts: ReturnType<typeof parseKnownHosts>,
  knownHostsFile: string,
  options: SshTunnelOptions,
  onLateError: (error: Error) => void,
): Promise<Client> {
  const auth: Partial<ConnectConfig> = {};
  if (hop.identityFile !== undefined) {
    try {
      auth.privateKey = await readFile(hop.identityFile);
    } catch (error) {
      throw new InvalidInputError(
        `ssh ${hopName(hop)} identity read failed: cannot read ${hop.identityFile} (${reasonOf(error)})`,
        { cause: error },
      );
    }
  } else if (options.env.SSH_AUTH_SOCK) {
    auth.agent = options.env.SSH_AUTH_SOCK;
  } else {
    throw new InvalidInputError(
      `ssh ${hopName(hop)} has no identityFile and SSH_AUTH_SOCK is not set: give the hop an identityFile or start an ssh-agent.`,
    );
  }
  // Only the key types known_hosts pins for this host may be negotiated, so the server cannot pick
  // one we hold no key for. With none pinned, ssh2's defaults apply and verification names the key.
  const pinned = knownKeyTypes(knownHosts, hop.host, hop.port);
  const serverHostKey = pinned.flatMap((type) => HOST_KEY_ALGORITHMS[type] ?? []);
  let verdict: HostKeyVerdict | undefined;
  let ready = false;
  const client = new Client();
  return new Promise<Client>((resolve, reject) => {
    client.once("ready", () => {
      ready = true;
      resolve(client);
    });
    // Permanent: an 'error' event without a listener would crash the process.
    client.on("error", (error) => {
      if (ready) {
        client.end();
        onLateError(error);
        return;
      }
      client.end();
      reject(setupError(error));
    });
    client.connect({
      host: hop.host,
      port: hop.port,
      username: hop.user,
      ...(sock ? { sock } : {}),
      ...auth,
      readyTimeout: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      keepaliveInterval: 15_000,
      ...(serverHostKey.length > 0 ? { algorithms: { serverHostKey } } : {}),
      hostVerifier: (key: Buffer): boolean => {
        verdict = verifyHostKey(knownHosts, hop.host, hop.port, key);
        return verdict.ok;
      },
    });
  });

  function setupError(error: Error & { level?: string }): RuntimeFailureError {
    const where = hostPattern(hop.host, hop.port);
    if (verdict && !verdict.ok) {
      const what =
        verdict.problem === "unknown"
          ? `is not in ${knownHostsFile}`
          : verdict.problem === "revoked"
            ? `is marked @revoked in ${knownHostsFile}`
            : `does not match the key recorded in ${knownHostsFile} — it CHANGED (possible man-in-the-middle)`;
      return new RuntimeFailureError(
        `ssh ${where} host key verification failed: its ${verdict.keyType} key ` +
          `${verdict.fingerprint} ${what}. Nothing was sent. If the key is genuine (compare the fingerprint ` +
          `out of band), add it to ${knownHostsFile}.`,
        { cause: error, transient: false },
      );
    }
    if (/no matching host key format/i.test(error.message)) {
      return new RuntimeFailureError(
        `ssh ${where} host key verification failed: the host offers no key of the type(s) ${knownHostsFile} ` +
          `records for it (${pinned.join(", ")}). Nothing was sent. If its keys changed genuinely, add its ` +
          `current key (ssh-keyscan, then compare the fingerprint out of band) to ${knownHostsFile}.`,
        { cause: error, transient: false },
      );
    }
    if (error.level === "client-timeout") {
      return new RuntimeFailureError(
        `ssh ${hopName(hop)} connect failed: no answer within ${seconds(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)} s ` +
          `(no SSH handshake: is ${where} an SSH server, and reachable?). If it is only slow, raise ` +
          `--request-timeout SECONDS (SYSCONFIG_REQUEST_TIMEOUT)`,
        // Not retried: each attempt would wait the whole bound again (five made a 20 s bound cost 104 s).
        { cause: error, transient: false },
      );
    }
    return new RuntimeFailureError(`ssh ${hopName(hop)} connect failed: ${reasonOf(error)}`, {
      cause: error,
      transient: !/authentication/i.test(reasonOf(error)),
    });
  }
}
