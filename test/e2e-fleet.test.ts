// End to end on fleet (issue 4 item 5): a config image built by `sysconfig build` runs with
// `docker run` against the fake fleetd, over a mounted unix socket and over the SSH tunnel.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { dockerClient } from "../cli/images/docker-engine.js";
import { LOCAL_NODE_IMAGE } from "../cli/images/reconciler-image.js";
import { sysconfigVersion } from "../cli/images/reconciler-image-name.js";
import { lockUnitName } from "../reconciler/targets/fleet/lock.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import {
  bumpInPlace,
  git,
  initConfigRepo,
  removeImages,
  exitCodeOf,
  removeContainer,
} from "./helpers/build-fixtures.js";
import { buildReconcilerImage, runCli, runCommand } from "./helpers/cli.js";
import { identityBind, identityEnv } from "./helpers/demo-identity.js";
import { tempDir } from "./helpers/tmp.js";

const docker = dockerClient(process.env);
const id = randomBytes(4).toString("hex");
const reconciler = `sysconfig-e2e-fleet-${id}/reconciler:${sysconfigVersion()}`;
const configImage = `sysconfig-e2e-fleet-${id}/config`;
const SSH = path.join(process.env.SYSCONFIG_SERVICES_DIR ?? "/var/lib/sysconfig-services", "ssh");

const E2E_TIMING = { enginePassMs: 400, agentPassMs: 400, startMs: 100 };
let server: FakeFleetServer;
let dir: string;
let repo: string;
let socketPath: string;
let cleanup: () => Promise<void>;

/** `sysconfig build` of the repo at HEAD into the local config image (tag :staging). */
async function build(): Promise<void> {
  const result = await runCli([
    "build",
    "--repo",
    repo,
    "--image",
    configImage,
    "--base",
    reconciler,
    "--build-num",
    "1",
  ]);
  if (result.code !== 0) throw new Error(`sysconfig build failed (${result.code}): ${result.stderr}`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `docker run --rm` of the config image; the container id is handed to `onStart` (to kill it). */
async function runImage(
  options: { tunnel?: boolean; args?: string[]; onStart?: (id: string) => void } = {},
): Promise<Run> {
  const binds = options.tunnel ? [`${path.join(dir, "ssh")}:/ssh:ro`] : [`${socketPath}:/var/run/fleet.sock`];
  binds.push(identityBind);
  const container = await docker.createContainer({
    Image: `${configImage}:staging`,
    Cmd: ["reconcile", "--timeout", "30", ...(options.args ?? [])],
    Env: ["NO_COLOR=1", identityEnv],
    HostConfig: { NetworkMode: options.tunnel ? "host" : "none", Binds: binds },
  });
  try {
    await container.start();
    options.onStart?.(container.id);
    const StatusCode = await exitCodeOf(container);
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    let stdout = "";
    let stderr = "";
    for (let offset = 0; offset + 8 <= logs.length;) {
      const size = logs.readUInt32BE(offset + 4);
      const text = logs.subarray(offset + 8, offset + 8 + size).toString();
      if (logs[offset] === 2) stderr += text;
      else stdout += text;
      offset += 8 + size;
    }
    return { code: StatusCode, stdout, stderr };
  } finally {
    await removeContainer(container);
  }
}

const pullOf = (name: string) =>
  server.units.get(name)?.options.find((o) => o.name === "ExecStartPre" && o.value.includes("docker pull"))
    ?.value ?? "";
const changedUnits = () =>
  server.log
    .filter((l) => /^(PUT|DELETE) /.test(l) && !l.includes("sysconfig-lock-"))
    .map((l) => decodeURIComponent(l.replace(/^\w+ \/fleet\/v1\/units\//, "")));

beforeAll(async () => {
  const tmp = await tempDir("sysconfig-e2e-fleet-");
  dir = tmp.dir;
  cleanup = tmp.cleanup;
  socketPath = path.join(dir, "fleet.sock");
  // fleetd's own clock (engine pass, agent pass, request costs), with shorter passes to keep the
  // suite quick; the roll that is killed midway runs on the real 2 s pass.
  server = await startFleetServer({ socketPath, realistic: E2E_TIMING });
  await chmod(socketPath, 0o666); // the reconciler runs as uid 10001, like fleet.socket's default 0666
  await buildReconcilerImage(reconciler, LOCAL_NODE_IMAGE);
  repo = path.join(dir, "acme");
  await initConfigRepo(repo);
  await git(repo, "checkout", "-q", "staging");
  await build();
}, 300_000);

afterAll(async () => {
  await server.close();
  await removeImages(docker, [reconciler, `${configImage}:staging`, `${configImage}:1-staging`]);
  const images = await docker.listImages({ filters: { reference: [`${configImage}`] } });
  await removeImages(
    docker,
    images.flatMap((i) => i.RepoTags ?? []),
  );
  await cleanup();
});

describe("docker run of a fleet config image", () => {
  it("creates every unit over the mounted socket, leaves an unmanaged unit alone, and a second run is a no-op", async () => {
    const foreign = [{ section: "Service", name: "ExecStart", value: "/usr/bin/handmade" }];
    server.units.set("handmade.service", {
      name: "handmade.service",
      options: foreign,
      desiredState: "launched",
      machineID: "",
      since: Date.now(),
    });
    const first = await runImage();
    expect({ code: first.code, stderr: first.stderr }).toMatchObject({ code: 0 });
    expect(first.stdout).toContain("Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged, 1 unmanaged.");
    expect([...server.units.keys()].sort()).toEqual([
      "handmade.service",
      "hello.service",
      "legacy-api.service",
      "worker@.service",
      "worker@1.service",
      "worker@2.service",
      "worker@3.service",
    ]);
    expect(server.units.get("handmade.service")?.options).toEqual(foreign);
    server.resetCounts();
    const second = await runImage();
    expect({ code: second.code, stderr: second.stderr }).toMatchObject({ code: 0 });
    expect(second.stdout).toContain("Nothing to do.");
    expect(changedUnits()).toEqual([]);
  });

  it("after bump + build, replaces exactly the changed units and rolls the instances in order", async () => {
    await bumpInPlace(repo, "worker", "2-staging");
    await build();
    server.resetCounts();
    const result = await runImage();
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("Plan: 0 to create, 4 to update, 0 to delete, 2 unchanged, 1 unmanaged.");
    const changed = changedUnits();
    expect([...changed].sort()).toEqual([
      "worker@.service",
      "worker@1.service",
      "worker@2.service",
      "worker@3.service",
    ]);
    const instances = changed.filter((n) => /worker@\d/.test(n));
    expect(instances).toEqual(["worker@1.service", "worker@2.service", "worker@3.service"]);
    for (const n of instances) expect(pullOf(n)).toContain(":2-staging");
  });

  it("killed mid-roll: the next run is refused by the lock until it is removed, then converges", async () => {
    await bumpInPlace(repo, "worker", "3-staging");
    await build();
    server.resetCounts();
    const timing = server.timing as NonNullable<typeof server.timing>;
    timing.enginePassMs = 2_000;
    timing.agentPassMs = 2_000;
    const killed = await runImage({
      onStart: (cid) => {
        const poll = setInterval(() => {
          if (server.log.some((l) => l.includes("worker%401.service") && l.startsWith("PUT"))) {
            clearInterval(poll);
            void docker.getContainer(cid).kill({ signal: "SIGKILL" });
          }
        }, 20);
      },
    });
    Object.assign(timing, E2E_TIMING);
    expect(killed.code).toBe(137);
    expect(pullOf("worker@1.service")).toContain(":3-staging");
    expect(pullOf("worker@3.service")).toContain(":2-staging");
    const refused = await runImage();
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`fleetctl destroy ${lockUnitName("acme")}`);
    server.units.delete(lockUnitName("acme")); // what `fleetctl destroy` does
    const again = await runImage();
    expect({ code: again.code, stderr: again.stderr }).toMatchObject({ code: 0 });
    for (const n of ["worker@1.service", "worker@2.service", "worker@3.service"]) {
      expect(pullOf(n)).toContain(":3-staging");
    }
    expect((await runImage()).stdout).toContain("Nothing to do.");
  });

  it("destroys the units of a service removed from the config", async () => {
    const file = path.join(repo, "sysconfig.yaml");
    const doc = parseDocument(await readFile(file, "utf8"));
    doc.deleteIn(["services", "legacy-api"]);
    await writeFile(file, doc.toString());
    const render = await runCli(["render", "--repo", repo]);
    expect(render.code).toBe(0);
    await git(repo, "add", "-A");
    await git(repo, "commit", "-qm", "Remove legacy-api");
    await build();
    server.resetCounts();
    const result = await runImage();
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
    expect(changedUnits()).toEqual(["legacy-api.service"]);
    expect(server.units.has("legacy-api.service")).toBe(false);
    expect(server.units.has("handmade.service")).toBe(true);
  });

  it("reconciles over the SSH tunnel (bastion → fleet host → streamlocal to the socket)", async () => {
    // The image runs as uid 10001: give it a readable copy of the test key and known_hosts.
    const sshDir = path.join(dir, "ssh");
    await runCommand("mkdir", ["-p", sshDir]);
    for (const f of ["id_ed25519", "known_hosts"]) {
      await copyFile(path.join(SSH, f), path.join(sshDir, f));
      await chmod(path.join(sshDir, f), 0o644);
    }
    const file = path.join(repo, "sysconfig.yaml");
    const doc = parseDocument(await readFile(file, "utf8"));
    const hop = (port: number) => ({
      host: "127.0.0.1",
      port,
      user: "root",
      identityFile: "/ssh/id_ed25519",
    });
    doc.setIn(["environments", "staging", "target"], {
      kind: "fleet",
      endpoint: `unix://${socketPath}`,
      tunnel: { jump: [hop(2222)], host: hop(2223), knownHosts: "/ssh/known_hosts" },
    });
    await writeFile(file, doc.toString());
    await git(repo, "commit", "-qam", "staging through the bastion");
    await bumpInPlace(repo, "hello", "2-staging");
    await build();
    server.resetCounts();
    const result = await runImage({ tunnel: true });
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
    expect(changedUnits()).toEqual(["hello.service"]);
    expect(pullOf("hello.service")).toContain(":2-staging");
  });
});
