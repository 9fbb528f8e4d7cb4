// The SSH tunnel against the real sshd processes of the test services: bastion 127.0.0.1:2222 →
// fleet host 127.0.0.1:2223 → the fake fleetd on a unix socket (streamlocal) or a TCP port.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import type { Duplex } from "node:stream";
import path from "node:path";
import { RuntimeFailureError } from "../reconciler/errors.js";
import type { ReconcileOutcome } from "../reconciler/pipeline/reconcile.js";
import { runReconcile } from "../reconciler/pipeline/reconcile.js";
import { silentReporter, type Reporter } from "../reconciler/report/reporter.js";
import { parseFleetEndpoint } from "../reconciler/targets/fleet/endpoint.js";
import { FleetClient } from "../reconciler/targets/fleet/client.js";
import { createFleetTarget, type FleetTargetConfig } from "../reconciler/targets/fleet/target.js";
import { createSshTunnel, type TunnelConfig } from "../reconciler/targets/fleet/ssh-tunnel.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { tempDir } from "./helpers/tmp.js";

const SSH = path.join(process.env.SYSCONFIG_SERVICES_DIR ?? "/var/lib/sysconfig-services", "ssh");
const KEY = path.join(SSH, "id_ed25519");
const KNOWN_HOSTS = path.join(SSH, "known_hosts");
const bastion = { host: "127.0.0.1", port: 2222, user: "root", identityFile: KEY };
const fleetHost = { host: "127.0.0.1", port: 2223, user: "root", identityFile: KEY };
const fingerprintOf = (pub: string) =>
  execFileSync("ssh-keygen", ["-lf", path.join(SSH, pub)], { encoding: "utf8" }).split(" ")[1];

let unixServer: FakeFleetServer;
let tcpServer: FakeFleetServer;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  if (!existsSync(KEY))
    throw new Error(`${KEY} is missing: the test services (npm run services) did not start sshd`);
  const tmp = await tempDir("sysconfig-ssh-");
  dir = tmp.dir;
  cleanup = tmp.cleanup;
  unixServer = await startFleetServer({ socketPath: path.join(dir, "fleet.sock") });
  tcpServer = await startFleetServer();
});
afterAll(async () => {
  await unixServer.close();
  await tcpServer.close();
  await cleanup();
});
beforeEach(() => {
  unixServer.units.clear();
  unixServer.resetCounts();
});

function target(endpoint: string, tunnel: TunnelConfig, env: NodeJS.ProcessEnv = {}) {
  const config: FleetTargetConfig = { kind: "fleet", endpoint, tunnel };
  return createFleetTarget(config, { reporter: silentReporter, env }, { pollMs: 10, backoffMs: 5 });
}

describe("ssh tunnel to fleet", () => {
  it("reconciles through bastion → fleet host → fleet's unix socket (streamlocal)", async () => {
    const repo = path.join(dir, "repo");
    const tunnel = { jump: [bastion], host: fleetHost, knownHosts: KNOWN_HOSTS };
    await writeFleetRepo(repo, {
      name: "tunnelled",
      endpoint: unixServer.endpoint,
      tunnel,
      services: { web: {}, worker: { instances: 2 } },
    });
    const run = (): Promise<ReconcileOutcome> =>
      runReconcile(
        {
          repo,
          environment: "staging",
          planOnly: false,
          guard: { allowMassDelete: false },
          wait: true,
          timeoutSeconds: 10,
          waitLock: false,
          lockOwner: "ssh-tunnel.test",
        },
        {
          createTarget: (config, opts) =>
            Promise.resolve(createFleetTarget(config as FleetTargetConfig, opts, { pollMs: 10 })),
          reporter: silentReporter,
          env: {},
        },
      );
    const first = await run();
    expect(first.results?.map((r) => r.status)).toEqual(Array(4).fill("healthy"));
    expect([...unixServer.units.keys()].filter((n) => !n.startsWith("sysconfig-lock")).sort()).toEqual([
      "web.service",
      "worker@.service",
      "worker@1.service",
      "worker@2.service",
    ]);
    const second = await run();
    expect(second.changeSet.changes.every((c) => c.action === "unchanged")).toBe(true);
  });

  it("reaches an http:// endpoint through the fleet host with a TCP channel, no jump host", async () => {
    const t = target(tcpServer.endpoint, { jump: [], host: fleetHost, knownHosts: KNOWN_HOSTS });
    try {
      await t.client.setUnit("tcp.service", {
        desiredState: "launched",
        options: [{ section: "Service", name: "ExecStart", value: "/bin/true" }],
      });
      expect((await t.readActual("x")).map((o) => o.name)).toEqual(["tcp.service"]);
    } finally {
      await t.close();
    }
  });

  it("authenticates with ssh-agent (SSH_AUTH_SOCK) when a hop has no identityFile, and accepts hashed known_hosts entries", async () => {
    const agentSock = path.join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", agentSock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 50 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync("ssh-add", [KEY], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: "ignore" });
      const hashed = (await readFile(KNOWN_HOSTS, "utf8"))
        .trim()
        .split("\n")
        .map((line) => {
          const [host = "", ...rest] = line.split(" ");
          const salt = randomBytes(20);
          const hash = createHmac("sha1", salt).update(host).digest("base64");
          return `|1|${salt.toString("base64")}|${hash} ${rest.join(" ")}`;
        });
      const hashedFile = path.join(dir, "known_hosts.hashed");
      await writeFile(hashedFile, `${hashed.join("\n")}\n`);
      const noKey = (h: typeof bastion) => ({ host: h.host, port: h.port, user: h.user });
      const t = target(
        unixServer.endpoint,
        { jump: [noKey(bastion)], host: noKey(fleetHost), knownHosts: hashedFile },
        { SSH_AUTH_SOCK: agentSock },
      );
      try {
        expect(await t.readActual("x")).toEqual([]);
      } finally {
        await t.close();
      }
    } finally {
      agent.kill();
    }
  });

  it("leaves no listener per request on a kept-alive channel: 50 requests, no MaxListenersExceededWarning", async () => {
    const tunnel = createSshTunnel(
      { jump: [bastion], host: fleetHost, knownHosts: KNOWN_HOSTS },
      { env: {}, reporter: silentReporter },
    );
    const endpoint = parseFleetEndpoint(unixServer.endpoint);
    const channels: Duplex[] = [];
    // One socket: every request rides the same SSH channel, as a rolling update's polls do.
    const client = new FleetClient({
      endpoint,
      maxSockets: 1,
      connect: async () => {
        const channel = await tunnel.connect(endpoint);
        channels.push(channel);
        return channel;
      },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      for (let i = 0; i < 50; i++) await client.listStates();
      await new Promise((resolve) => setImmediate(resolve));
      expect(channels).toHaveLength(1);
      expect(channels[0]?.listenerCount("timeout")).toBeLessThanOrEqual(1);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      client.close();
      await tunnel.close();
    }
  });

  it("refuses a host whose key is not in known_hosts, naming it and its SHA256 fingerprint, sending nothing", async () => {
    const onlyBastion = path.join(dir, "known_hosts.bastion-only");
    const lines = (await readFile(KNOWN_HOSTS, "utf8"))
      .split("\n")
      .filter((l) => l.startsWith("[127.0.0.1]:2222 "));
    await writeFile(onlyBastion, `${lines.join("\n")}\n`);
    const t = target(unixServer.endpoint, { jump: [bastion], host: fleetHost, knownHosts: onlyBastion });
    const error = await t.readActual("x").catch((e: unknown) => e);
    await t.close();
    expect(error).toBeInstanceOf(RuntimeFailureError);
    expect((error as RuntimeFailureError).exitCode).toBe(1);
    expect((error as Error).message).toContain(
      `ssh [127.0.0.1]:2223 host key verification failed: its ssh-ed25519 key ${fingerprintOf("fleet-host_host_ed25519_key.pub")} is not in ${onlyBastion}`,
    );
    expect(unixServer.counts.total).toBe(0);
  });

  it("refuses a host whose key changed (a wrong key recorded for the bastion), sending nothing", async () => {
    const wrong = path.join(dir, "known_hosts.wrong");
    const fleetHostKey = (await readFile(path.join(SSH, "fleet-host_host_ed25519_key.pub"), "utf8"))
      .split(" ")
      .slice(0, 2)
      .join(" ");
    await writeFile(wrong, `[127.0.0.1]:2222 ${fleetHostKey}\n`);
    const t = target(unixServer.endpoint, { jump: [bastion], host: fleetHost, knownHosts: wrong });
    const error = await t.readActual("x").catch((e: unknown) => e);
    await t.close();
    expect(error).toBeInstanceOf(RuntimeFailureError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^ssh \\[127\\.0\\.0\\.1\\]:2222 host key verification failed: its ssh-ed25519 key ${fingerprintOf("bastion_host_ed25519_key.pub")?.replace(/[+/]/g, "\\$&")} does not match the key recorded in .* CHANGED`,
      ),
    );
    expect(unixServer.counts.total).toBe(0);
  });

  it("negotiates only the host key types known_hosts pins for the host, so it cannot be steered to another", async () => {
    // known_hosts pins an ECDSA key for the bastion, whose sshd has only an Ed25519 key: the client
    // must not accept the Ed25519 key the server would otherwise pick.
    const ecdsaKey = path.join(dir, "pinned_ecdsa");
    execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", ecdsaKey]);
    const pinned = path.join(dir, "known_hosts.ecdsa");
    const ecdsaPub = (await readFile(`${ecdsaKey}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
    await writeFile(pinned, `[127.0.0.1]:2222 ${ecdsaPub}\n`);
    const t = target(unixServer.endpoint, { jump: [bastion], host: fleetHost, knownHosts: pinned });
    const error = await t.readActual("x").catch((e: unknown) => e);
    await t.close();
    expect(error).toBeInstanceOf(RuntimeFailureError);
    expect((error as Error).message).toContain(
      `ssh [127.0.0.1]:2222 host key verification failed: the host offers no key of the type(s) ${pinned} records for it (ecdsa-sha2-nistp256). Nothing was sent.`,
    );
    expect(unixServer.counts.total).toBe(0);
  });
});

/** A TCP relay in front of an sshd (the bastion's by default) that a test can stall or cut. */
async function startRelay(to = 2222): Promise<{
  port: number;
  stall(): void;
  cut(): void;
  /** Connections through the relay not closed yet. */
  open(): number;
  close(): Promise<void>;
}> {
  const pairs: { down: net.Socket; up: net.Socket }[] = [];
  const live = new Set<net.Socket>();
  const server = net.createServer((down) => {
    live.add(down);
    down.on("close", () => live.delete(down));
    const up = net.connect(to, "127.0.0.1");
    down.pipe(up);
    up.pipe(down);
    const drop = () => {
      down.destroy();
      up.destroy();
    };
    down.on("error", drop);
    up.on("error", drop);
    pairs.push({ down, up });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    // stop relaying the server's answers on every open connection (new connections are not affected)
    stall: () => pairs.forEach(({ up }) => up.unpipe()),
    // reset every open connection, as a dying middlebox would
    cut: () => pairs.forEach(({ down, up }) => (down.resetAndDestroy(), up.destroy())),
    open: () => live.size,
    close: async () => {
      pairs.forEach(({ down, up }) => (down.destroy(), up.destroy()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("ssh tunnel faults", () => {
  async function relayed() {
    const relay = await startRelay();
    const bastionKey = (await readFile(KNOWN_HOSTS, "utf8"))
      .split("\n")
      .find((l) => l.startsWith("[127.0.0.1]:2222 "))
      ?.split(" ")
      .slice(1)
      .join(" ");
    const knownHosts = path.join(dir, `known_hosts.relay-${relay.port}`);
    await writeFile(knownHosts, `[127.0.0.1]:${relay.port} ${bastionKey}\n`);
    const warnings: string[] = [];
    const reporter: Reporter = { ...silentReporter, warn: (m) => warnings.push(m) };
    const tunnel = createSshTunnel(
      { jump: [], host: { ...bastion, port: relay.port }, knownHosts },
      { env: {}, reporter, channelTimeoutMs: 300 },
    );
    return { relay, tunnel, warnings, endpoint: parseFleetEndpoint(tcpServer.endpoint) };
  }

  it("fails a channel the SSH connection does not answer within the timeout, then reconnects", async () => {
    const { relay, tunnel, endpoint } = await relayed();
    try {
      (await tunnel.connect(endpoint)).destroy();
      relay.stall();
      const started = Date.now();
      await expect(tunnel.connect(endpoint)).rejects.toThrow(
        new RegExp(
          `^ssh tunnel via root@\\[127\\.0\\.0\\.1\\]:${relay.port} forward to 127\\.0\\.0\\.1:\\d+ failed: no answer within 0\\.3 s`,
        ),
      );
      expect(Date.now() - started).toBeLessThan(3_000);
      (await tunnel.connect(endpoint)).destroy();
    } finally {
      await tunnel.close();
      await relay.close();
    }
  });

  it("survives a connection error after setup (no crash), reports it and reconnects on next use", async () => {
    const { relay, tunnel, warnings, endpoint } = await relayed();
    try {
      (await tunnel.connect(endpoint)).destroy();
      relay.cut();
      for (let i = 0; i < 100 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(warnings).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ssh connection to root@\\[127\\.0\\.0\\.1\\]:${relay.port} failed: .*ECONNRESET.*reconnecting`,
          ),
        ),
      ]);
      (await tunnel.connect(endpoint)).destroy();
    } finally {
      await tunnel.close();
      await relay.close();
    }
  });

  it("ends the jump host's connection when the host behind it drops, and close() ends every connection", async () => {
    // bastion (through relay `outer`) → fleet host (through relay `inner`, reached from the bastion).
    const outer = await startRelay(2222);
    const inner = await startRelay(2223);
    const keyOf = (port: number) =>
      readFile(KNOWN_HOSTS, "utf8").then((text) =>
        text
          .split("\n")
          .find((l) => l.startsWith(`[127.0.0.1]:${port} `))
          ?.split(" ")
          .slice(1)
          .join(" "),
      );
    const knownHosts = path.join(dir, `known_hosts.jump-${outer.port}`);
    await writeFile(
      knownHosts,
      `[127.0.0.1]:${outer.port} ${await keyOf(2222)}\n[127.0.0.1]:${inner.port} ${await keyOf(2223)}\n`,
    );
    const tunnel = createSshTunnel(
      { jump: [{ ...bastion, port: outer.port }], host: { ...fleetHost, port: inner.port }, knownHosts },
      { env: {}, reporter: silentReporter },
    );
    const endpoint = parseFleetEndpoint(tcpServer.endpoint);
    const settle = async (done: () => boolean) => {
      for (let i = 0; i < 300 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      (await tunnel.connect(endpoint)).destroy();
      expect([outer.open(), inner.open()]).toEqual([1, 1]);
      // The inner hop fails late: the jump host's connection, now useless, must not stay open (its
      // keepalive timer would keep a systemd oneshot's `reconcile` from ever exiting).
      inner.cut();
      await settle(() => outer.open() === 0);
      expect(outer.open()).toBe(0);

      // The next use rebuilds the chain; close() then ends every hop.
      (await tunnel.connect(endpoint)).destroy();
      expect([outer.open(), inner.open()]).toEqual([1, 1]);
      await tunnel.close();
      await settle(() => outer.open() + inner.open() === 0);
      expect([outer.open(), inner.open()]).toEqual([0, 0]);
    } finally {
      await tunnel.close();
      await outer.close();
      await inner.close();
    }
  });

  it("gives up on a host that accepts TCP but never speaks SSH after the ready timeout, naming it", async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const tunnel = createSshTunnel(
      { jump: [], host: { ...bastion, port }, knownHosts: KNOWN_HOSTS },
      { env: {}, reporter: silentReporter, readyTimeoutMs: 300 },
    );
    try {
      await expect(tunnel.connect(parseFleetEndpoint(tcpServer.endpoint))).rejects.toThrow(
        `ssh root@[127.0.0.1]:${port} connect failed: no answer within 0.3 s (no SSH handshake: is [127.0.0.1]:${port} an SSH server, and reachable?)`,
      );
    } finally {
      await tunnel.close();
      accepted.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
