// Every network wait is bounded and the process exits: against a loopback server that accepts and never
// answers, bump (ssh, git, https), build's tip check, the Docker and fleet targets and an SSH hop each fail
// within their bound (set to 2 s here), say the bound, and leave no child process or connection behind.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { checkBranchTip } from "../cli/images/branch-tip.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createFleetTarget } from "../reconciler/targets/fleet/target.js";
import { KubernetesClient } from "../reconciler/targets/kubernetes/client.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startBlackHole, type BlackHole } from "./helpers/black-hole.js";
import { CLI, runCli } from "./helpers/cli.js";
import { git, initExample } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

const SSH_KEY = path.join(
  process.env.SYSCONFIG_SERVICES_DIR ?? "/var/lib/sysconfig-services",
  "ssh",
  "id_ed25519",
);

let root: string;
let cleanup: () => Promise<void>;
let hole: BlackHole;
let example: string;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-net-bounds-"));
  hole = await startBlackHole();
  example = await initExample(root);
});
afterAll(async () => {
  await hole.close();
  await cleanup();
});

/** A TMPDIR of its own, so a leftover sysconfig-bump-* directory is seen. */
async function freshTmp(name: string): Promise<string> {
  const dir = path.join(root, `tmp-${name}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

const BATCH_SSH = "ssh -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no";

const leftovers = async (tmp: string) => (await readdir(tmp)).filter((n) => n.startsWith("sysconfig-bump-"));

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const started = Date.now();
  const result = await run();
  return { result, seconds: (Date.now() - started) / 1000 };
}

describe("bump against a git remote that accepts and never answers", () => {
  it.each([
    ["ssh", () => `ssh://git@127.0.0.1:${hole.port}/x.git`],
    ["git", () => `git://127.0.0.1:${hole.port}/x.git`],
    ["https", () => `https://127.0.0.1:${hole.port}/x.git`],
  ])(
    "over %s fails after --git-timeout (2 s), says so, and leaves no git, ssh or temp clone behind",
    async (_scheme, url) => {
      const tmp = await freshTmp(`bump-${_scheme}`);
      const before = hole.accepted();
      const { result, seconds } = await timed(() =>
        runCli(["bump", "web", "99-develop", "--repo", url()], {
          env: {
            TMPDIR: tmp,
            SYSCONFIG_GIT_TIMEOUT: "2",
            GIT_SSH_COMMAND:
              "ssh -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no",
          },
        }),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("clone failed: no answer from the remote within 2 s");
      expect(result.stderr).toContain("--git-timeout");
      expect(seconds).toBeLessThan(12);
      expect(hole.accepted()).toBeGreaterThan(before);
      // The ssh (or https helper) git started held the connection open; it was stopped with git.
      expect(await hole.drained(3_000)).toBe(0);
      expect(await leftovers(tmp)).toEqual([]);
    },
    30_000,
  );

  it("build --push's tip check (git ls-remote) gives up after the bound and says so", async () => {
    const repo = path.join(root, "tip-check");
    git(["clone", "--quiet", "--branch", "develop", "--", example, repo]);
    git(["remote", "set-url", "origin", `ssh://git@127.0.0.1:${hole.port}/x.git`], repo);
    const revision = git(["rev-parse", "HEAD"], repo).trim();
    const previous = process.env.GIT_SSH_COMMAND;
    process.env.GIT_SSH_COMMAND =
      "ssh -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no";
    try {
      const { result, seconds } = await timed(() => checkBranchTip(repo, "develop", revision, 2));
      expect(result).toMatchObject({ state: "unknown" });
      expect(result.state === "unknown" && result.reason).toMatch(/no answer from the remote within 2 s/);
      expect(seconds).toBeLessThan(12);
      expect(await hole.drained(3_000)).toBe(0);
    } finally {
      if (previous === undefined) delete process.env.GIT_SSH_COMMAND;
      else process.env.GIT_SSH_COMMAND = previous;
    }
  }, 30_000);
});

describe("SIGTERM or SIGINT during a bump's clone", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s stops git and the ssh it started, and removes the temp clone",
    async (signal) => {
      const tmp = await freshTmp(`signal-${signal}`);
      const before = hole.accepted();
      const child = spawn(
        process.execPath,
        [CLI, "bump", "web", "99-develop", "--repo", `ssh://git@127.0.0.1:${hole.port}/x.git`],
        { env: { ...process.env, NO_COLOR: "1", TMPDIR: tmp, GIT_SSH_COMMAND: BATCH_SSH }, stdio: "pipe" },
      );
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (code, sig) => resolve({ code, signal: sig })),
      );
      // Signalled once git's ssh is connected and waiting: the clone is under way.
      for (let i = 0; i < 200 && hole.accepted() === before; i++) await new Promise((r) => setTimeout(r, 25));
      expect(hole.accepted()).toBeGreaterThan(before);
      expect(await leftovers(tmp)).toHaveLength(1);
      const started = Date.now();
      child.kill(signal);
      const exit = await exited;
      expect(exit.signal).toBe(signal);
      expect(Date.now() - started).toBeLessThan(5_000);
      // git and its ssh ended with the process: nothing holds the connection any more.
      expect(await hole.drained(3_000)).toBe(0);
      expect(await leftovers(tmp)).toEqual([]);
    },
    30_000,
  );
});

describe("SIGTERM during a bump in a working checkout", () => {
  it("stops the fetch's git and ssh too (no temp clone to remove), and the process ends by the signal", async () => {
    const checkout = path.join(root, "checkout-signal");
    git(["clone", "--quiet", "--branch", "develop", "--", example, checkout]);
    git(["remote", "set-url", "origin", `ssh://git@127.0.0.1:${hole.port}/x.git`], checkout);
    const before = hole.accepted();
    const child = spawn(process.execPath, [CLI, "bump", "web", "99-develop", "--repo", checkout], {
      env: { ...process.env, NO_COLOR: "1", GIT_SSH_COMMAND: BATCH_SSH },
      stdio: "pipe",
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, sig) => resolve(sig)),
    );
    for (let i = 0; i < 200 && hole.accepted() === before; i++) await new Promise((r) => setTimeout(r, 25));
    expect(hole.accepted()).toBeGreaterThan(before);
    child.kill("SIGTERM");
    expect(await exited).toBe("SIGTERM");
    expect(await hole.drained(3_000)).toBe(0);
  }, 30_000);
});

describe("targets against an endpoint that accepts and never answers", () => {
  it("the Docker target (plan --endpoint tcp://) fails after --request-timeout, naming the bound", async () => {
    const { result, seconds } = await timed(() =>
      runCli([
        "plan",
        "--repo",
        example,
        "--target",
        "docker",
        "--endpoint",
        `tcp://127.0.0.1:${hole.port}`,
        "--request-timeout",
        "2",
      ]),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `no answer from the Docker engine at tcp://127.0.0.1:${hole.port} within 2 s; if it is only slow, raise --request-timeout`,
    );
    expect(seconds).toBeLessThan(12);
    expect(await hole.drained(3_000)).toBe(0);
  }, 30_000);

  it("the fleet target (plan --endpoint http://) fails after --request-timeout, naming the bound", async () => {
    const staging = path.join(root, "fleet-repo");
    await writeFleetRepo(staging, { name: "bounds", endpoint: "http://127.0.0.1:1", services: { web: {} } });
    const { result, seconds } = await timed(() =>
      runCli([
        "plan",
        "--repo",
        staging,
        "--environment",
        "staging",
        "--endpoint",
        `http://127.0.0.1:${hole.port}`,
        "--request-timeout",
        "2",
      ]),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `no answer from fleet at http://127.0.0.1:${hole.port} within 2 s; if it is only slow, raise --request-timeout`,
    );
    expect(seconds).toBeLessThan(12);
    expect(await hole.drained(3_000)).toBe(0);
  }, 30_000);

  it("an SSH hop that never speaks SSH fails once, after the bound, not once per retry", async () => {
    const staging = path.join(root, "tunnel-repo");
    const tunnel = {
      jump: [],
      host: { host: "127.0.0.1", port: hole.port, user: "root", identityFile: SSH_KEY },
      knownHosts: path.join(root, "no-known-hosts"),
    };
    await writeFile(tunnel.knownHosts, "");
    await writeFleetRepo(staging, {
      name: "bounds",
      endpoint: "unix:///var/run/fleet.sock",
      tunnel,
      services: { web: {} },
    });
    const viaCli = await timed(() =>
      runCli(["plan", "--repo", staging, "--environment", "staging", "--request-timeout", "2"]),
    );
    expect(viaCli.result.code).toBe(1);
    expect(viaCli.result.stderr).toContain(
      `ssh root@[127.0.0.1]:${hole.port} connect failed: no answer within 2 s (no SSH handshake`,
    );
    expect(viaCli.seconds).toBeLessThan(12);

    // The same through the target: one attempt of the bound, where five attempts (retries) used to pile up.
    const accepted = hole.accepted();
    const target = createFleetTarget(
      { kind: "fleet", endpoint: "unix:///var/run/fleet.sock", tunnel },
      { reporter: silentReporter, env: {}, requestTimeoutMs: 500 },
    );
    try {
      const { result, seconds } = await timed(() =>
        target.readActual("bounds").then(
          () => "read",
          (e: Error) => e,
        ),
      );
      expect(result).toBeInstanceOf(Error);
      expect(seconds).toBeLessThan(1.5);
      expect(hole.accepted() - accepted).toBe(1);
    } finally {
      await target.close();
    }
  }, 30_000);
});

describe("a request that timed out is not sent again", () => {
  let silent: BlackHole;
  beforeAll(async () => {
    silent = await startBlackHole();
  });
  afterAll(() => silent.close());

  it.each(["plan", "reconcile"])(
    "fleet %s: the two list walks, one connection each, nothing sent after the first timeout",
    async (command) => {
      const staging = path.join(root, `fleet-once-${command}`);
      await writeFleetRepo(staging, { name: "once", endpoint: "http://127.0.0.1:1", services: { web: {} } });
      const before = silent.accepted();
      const { result, seconds } = await timed(() =>
        runCli([
          command,
          "--repo",
          staging,
          "--environment",
          "staging",
          "--endpoint",
          `http://127.0.0.1:${silent.port}`,
          "--request-timeout",
          "2",
        ]),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("within 2 s; if it is only slow, raise --request-timeout");
      expect(seconds).toBeLessThan(12);
      // The list of units and the list of states went out side by side; when one timed out the run ended
      // and the other was abandoned, not retried on a new connection.
      expect(silent.accepted() - before).toBe(2);
      expect(await silent.drained(3_000)).toBe(0);
    },
    30_000,
  );

  it("kubernetes: a request without an answer fails once after the bound, naming it", async () => {
    const client = new KubernetesClient(
      {
        server: new URL(`https://127.0.0.1:${silent.port}`),
        source: "test",
        tls: {},
        headers: () => Promise.resolve({}),
      },
      { timeoutMs: 500, backoffMs: 10 },
    );
    const before = silent.accepted();
    try {
      const { result, seconds } = await timed(() =>
        client.request("GET", "/api").then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect((result as Error).message).toBe(
        `kubernetes GET /api failed: no answer from the Kubernetes API at https://127.0.0.1:${silent.port} ` +
          "within 0.5 s; if it is only slow, raise --request-timeout SECONDS (SYSCONFIG_REQUEST_TIMEOUT)",
      );
      expect(seconds).toBeLessThan(3);
      expect(silent.accepted() - before).toBe(1);
    } finally {
      client.close();
    }
  });
});
