// An SSH tunnel to fleetd through zero or more jump hosts (ssh2): connect to the first hop, forward a
// channel to the next hop and run SSH over it, and so on; on the last host open a streamlocal channel
// to fleet's unix socket (or a TCP channel for http:// endpoints). Every hop's host key is checked
// against the known_hosts file before any credential or request is sent.
import { readFile } from "node:fs/promises";
import type { Duplex } from "node:stream";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import type { z } from "zod";
import type { tunnelSchema } from "../../config/schema.js";
import { InvalidInputError, RuntimeFailureError, reasonOf } from "../../errors.js";
import type { Reporter } from "../../report/reporter.js";
import type { FleetEndpoint } from "./endpoint.js";
import { hostPattern, parseKnownHosts, verifyHostKey, type HostKeyVerdict } from "./known-hosts.js";

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
  readyTimeoutMs?: number;
}

const hopName = (hop: Hop): string => `${hop.user}@${hostPattern(hop.host, hop.port)}`;

export function createSshTunnel(config: TunnelConfig, options: SshTunnelOptions): SshTunnel {
  const hops = [...config.jump, config.host];
  let chain: Promise<Client[]> | undefined;
  let clients: Client[] = [];

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
      const client = await connectHop(hop, sock, knownHosts, config.knownHosts, options);
      built.push(client);
      client.on("close", () => {
        chain = undefined;
      });
      const next = hops[index + 1];
      if (next) sock = await forward(client, hop, next.host, next.port);
      options.reporter.debug(`ssh: connected to ${hopName(hop)}`);
    }
    return built;
  }

  return {
    async connect(endpoint: FleetEndpoint): Promise<Duplex> {
      chain ??= build().catch((error: unknown) => {
        chain = undefined;
        for (const c of clients.reverse()) c.end();
        throw error;
      });
      const last = (await chain).at(-1);
      if (!last) throw new RuntimeFailureError("ssh tunnel connect failed: no hosts");
      const host = config.host;
      if (endpoint.kind === "unix") {
        return new Promise<Duplex>((resolve, reject) => {
          last.openssh_forwardOutStreamLocal(endpoint.socketPath, (error, channel: ClientChannel) => {
            if (error) {
              reject(
                new RuntimeFailureError(
                  `ssh tunnel to ${hopName(host)} open ${endpoint.socketPath} failed: ${reasonOf(error)}`,
                  { cause: error, transient: false },
                ),
              );
            } else resolve(channel);
          });
        });
      }
      return forward(last, host, endpoint.host, endpoint.port);
    },
    async close(): Promise<void> {
      const all = chain ? await chain.catch(() => [] as Client[]) : [];
      chain = undefined;
      for (const c of [...all].reverse()) c.end();
    },
  };
}

function forward(client: Client, via: Hop, host: string, port: number): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    client.forwardOut("127.0.0.1", 0, host, port, (error, channel: ClientChannel) => {
      if (error) {
        reject(
          new RuntimeFailureError(
            `ssh tunnel via ${hopName(via)} forward to ${host}:${port} failed: ${reasonOf(error)}`,
            {
              cause: error,
              transient: true,
            },
          ),
        );
      } else resolve(channel);
    });
  });
}

async function connectHop(
  hop: Hop,
  sock: Duplex | undefined,
  knownHosts: ReturnType<typeof parseKnownHosts>,
  knownHostsFile: string,
  options: SshTunnelOptions,
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
  let verdict: HostKeyVerdict | undefined;
  const client = new Client();
  return new Promise<Client>((resolve, reject) => {
    client.once("ready", () => resolve(client));
    client.once("error", (error) => {
      client.end();
      if (verdict && !verdict.ok) {
        const what =
          verdict.problem === "unknown"
            ? `is not in ${knownHostsFile}`
            : verdict.problem === "revoked"
              ? `is marked @revoked in ${knownHostsFile}`
              : `does not match the key recorded in ${knownHostsFile} — it CHANGED (possible man-in-the-middle)`;
        reject(
          new RuntimeFailureError(
            `ssh ${hostPattern(hop.host, hop.port)} host key verification failed: its ${verdict.keyType} key ` +
              `${verdict.fingerprint} ${what}. Nothing was sent. If the key is genuine (compare the fingerprint ` +
              `out of band), add it to ${knownHostsFile}.`,
            { cause: error, transient: false },
          ),
        );
        return;
      }
      reject(
        new RuntimeFailureError(`ssh ${hopName(hop)} connect failed: ${reasonOf(error)}`, {
          cause: error,
          transient: !/authentication/i.test(reasonOf(error)),
        }),
      );
    });
    client.connect({
      host: hop.host,
      port: hop.port,
      username: hop.user,
      ...(sock ? { sock } : {}),
      ...auth,
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer): boolean => {
        verdict = verifyHostKey(knownHosts, hop.host, hop.port, key);
        return verdict.ok;
      },
    });
  });
}
