// The SSH tunnel against the real sshd processes of the test services: bastion 127.0.0.1:2222 →
// fleet host 127.0.0.1:2223 → the fake fleetd on a unix socket (streamlocal) or a TCP port.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { RuntimeFailureError } from "../reconciler/errors.js";
import type { ReconcileOutcome } from "../reconciler/pipeline/reconcile.js";
import { runReconcile } from "../reconciler/pipeline/reconcile.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createFleetTarget, type FleetTargetConfig } from "../reconciler/targets/fleet/fleet-target.js";
import type { TunnelConfig } from "../reconciler/targets/fleet/ssh-tunnel.js";
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
});
