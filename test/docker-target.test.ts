// The docker target against the real engine, driven through the built CLI the way users run it:
// create / no-op / update / failed health / delete, unmanaged look-alikes, the lock, interrupted runs.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { simpleGit } from "simple-git";
import { applyChanges } from "../reconciler/apply/engine.js";
import { dependencyLevels } from "../reconciler/apply/order.js";
import { parseConfig } from "../reconciler/config/load.js";
import { diffObjects } from "../reconciler/diff/diff.js";
import type { DesiredState } from "../reconciler/model.js";
import { renderAll } from "../reconciler/render/render.js";
import { createDockerTarget } from "../reconciler/targets/docker/target.js";
import { acquireDockerLock } from "../reconciler/targets/docker/lock.js";
import { CLI, ROOT, runCli } from "./helpers/cli.js";
import {
  buildImage,
  buildWebImage,
  commitConfig,
  containersOf,
  docker,
  freePort,
  httpGet,
  nameOf,
  removeSystem,
  uniqueSystem,
} from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const IMAGE = "sysconfig-test/dt-web";

interface Versions {
  web: string;
  probe: string;
  worker?: boolean;
  probeInterval?: number;
}

/** web: httpd on a host port (updates stop-first); probe: network none (start-first); worker: 2 instances. */
function configYaml(system: string, port: number, v: Versions): string {
  const worker = v.worker
    ? `
  worker:
    image: ${IMAGE}
    tag: 1-main
    instances: 2
    network: none
    command: ["sh", "-c", "while true; do sleep 1; done"]
    dependsOn: [web]`
    : "";
  return `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main: { target: { kind: docker } }
services:
  web:
    image: ${IMAGE}
    tag: ${v.web}
    command: ["httpd", "-f", "-p", "${port}", "-h", "/www"]
    ports: [{ container: ${port} }]
    env: { GREETING: hello, API_TOKEN: secret-1 }
    health: { http: { path: /, port: ${port} }, intervalSeconds: 1, retries: 1 }
  probe:
    image: ${IMAGE}
    tag: ${v.probe}
    network: none
    command: ["sh", "-c", "while true; do sleep 1; done"]
    health: { command: ["cat", "/www/index.html"], intervalSeconds: ${v.probeInterval ?? 1}, retries: 1 }${worker}
`;
}

const reconcile = (repo: string, ...args: string[]) =>
  runCli(["reconcile", "--repo", repo, "--target", "docker", "--timeout", "30", ...args]);
const plan = (repo: string, ...args: string[]) =>
  runCli(["plan", "--repo", repo, "--target", "docker", ...args]);

async function idsByName(system: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of await containersOf(system)) out[nameOf(c)] = c.Id;
  return out;
}

/** The lock marker container another reconciler on this host would hold; `labels` add to or override it. */
function createLockMarker(system: string, labels: Record<string, string>) {
  return docker.createContainer({
    name: `sysconfig-lock-${system}`,
    Image: `${IMAGE}:1-main`,
    Cmd: ["true"],
    Labels: {
      "io.sysconfig.system": system,
      "io.sysconfig.role": "lock",
      "io.sysconfig.lock.since": new Date().toISOString(),
      "io.sysconfig.lock.host": os.hostname(),
      ...labels,
    },
  });
}

beforeAll(async () => {
  await buildWebImage(`${IMAGE}:1-main`, "web v1\n");
  await buildWebImage(`${IMAGE}:2-main`, "web v2\n");
  await buildWebImage(`${IMAGE}:3-main`, undefined); // no index.html: health checks fail
});

describe("docker target lifecycle", () => {
  const system = uniqueSystem("dt");
  let repo: string;
  let cleanup: () => Promise<void>;
  let port: number;

  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-docker-"));
    port = await freePort();
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("creates every container with the ownership labels, and the service answers", async () => {
    await commitConfig(
      repo,
      configYaml(system, port, { web: "1-main", probe: "1-main", worker: true }),
      "v1",
    );
    const result = await reconcile(repo);
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`+ create docker:container/${system}-web`);
    expect(result.stdout).toContain(`+ create docker:container/${system}-worker-2`);

    const containers = await containersOf(system);
    expect(containers.map(nameOf)).toEqual([
      `${system}-probe`,
      `${system}-web`,
      `${system}-worker-1`,
      `${system}-worker-2`,
    ]);
    const head = (await simpleGit(repo).revparse(["HEAD"])).trim();
    for (const c of containers) {
      expect(c.State).toBe("running");
      expect(c.Labels).toMatchObject({ "io.sysconfig.system": system, "io.sysconfig.revision": head });
      expect(c.Labels["io.sysconfig.hash"]).toMatch(/^[0-9a-f]{64}$/);
    }
    const web = containers.find((c) => nameOf(c) === `${system}-web`);
    expect(web?.Labels["io.sysconfig.service"]).toBe("web");
    expect(web?.Labels["io.sysconfig.spec"]).toMatch(/API_TOKEN: "?<secret>"?\n/);
    expect(web?.Labels["io.sysconfig.secrets"]).toMatch(/"API_TOKEN":"[0-9a-f]{64}"/);
    expect(web?.Labels["io.sysconfig.secrets"]).not.toContain("secret-1");
    expect(web?.Labels["io.sysconfig.spec"]).not.toContain("secret-1");
    expect(await httpGet(port)).toBe("web v1\n");
  });

  it("plans nothing and changes nothing on a second run", async () => {
    const before = await idsByName(system);
    const planned = await plan(repo, "--exit-code");
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain("No changes");
    const again = await reconcile(repo);
    expect(again.code).toBe(0);
    expect(await idsByName(system)).toEqual(before);
  });

  it("updates by starting the new container and handing it the name: one container per service", async () => {
    const before = await idsByName(system);
    await commitConfig(
      repo,
      configYaml(system, port, { web: "2-main", probe: "2-main", worker: true }),
      "v2",
    );
    const result = await reconcile(repo);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`~ update docker:container/${system}-web\\n\\s+note: stop-first: host port ${port}/tcp`),
    );
    expect(result.stdout).toMatch(new RegExp(`~ update docker:container/${system}-probe\\n\\s+---`));
    expect(result.stdout).toContain(`+image: ${IMAGE}:2-main`);

    const after = await idsByName(system);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    expect(after[`${system}-web`]).not.toBe(before[`${system}-web`]);
    expect(after[`${system}-probe`]).not.toBe(before[`${system}-probe`]);
    expect(after[`${system}-worker-1`]).toBe(before[`${system}-worker-1`]);
    expect(await httpGet(port)).toBe("web v2\n");
    expect((await plan(repo, "--exit-code")).code).toBe(0);
  });

  it("stops an update whose health check fails and leaves the old containers serving", async () => {
    const before = await idsByName(system);
    await commitConfig(
      repo,
      configYaml(system, port, { web: "3-main", probe: "3-main", worker: true }),
      "v3",
    );
    const result = await reconcile(repo);
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toMatch(new RegExp(`${system}-web.*not healthy: health check failed`));
    expect(output).toMatch(new RegExp(`${system}-probe.*not healthy: health check failed`));
    expect(output).toContain("was started again and is running (checked)");

    expect(await idsByName(system)).toEqual(before);
    for (const c of await containersOf(system)) expect(c.State).toBe("running");
    expect(await httpGet(port)).toBe("web v2\n");
    expect((await plan(repo, "--exit-code")).code).toBe(2);
  });

  it("deletes what left the config and never touches an unmanaged look-alike", async () => {
    const manual = await docker.createContainer({
      name: `${system}-web-manual`,
      Image: `${IMAGE}:1-main`,
      Cmd: ["sleep", "300"],
      HostConfig: { NetworkMode: "none" },
    });
    await manual.start();
    // Containers inherit their image's labels, and config images carry io.sysconfig.system: a
    // reconciler run from one (docker run --rm <config image>) is not a managed service.
    await buildImage(`sysconfig-test/dt-config:${system}`, {
      Dockerfile: `FROM ${IMAGE}:1-main\nLABEL io.sysconfig.system=${system} io.sysconfig.environment=main\n`,
    });
    const reconciler = await docker.createContainer({
      name: `${system}_reconciler`,
      Image: `sysconfig-test/dt-config:${system}`,
      Cmd: ["sleep", "300"],
      HostConfig: { NetworkMode: "none" },
    });
    await reconciler.start();
    await commitConfig(repo, configYaml(system, port, { web: "2-main", probe: "2-main" }), "drop worker");

    const planned = await plan(repo);
    expect(planned.stdout).toContain(`- delete docker:container/${system}-worker-1`);
    expect(planned.stdout).toContain(`unmanaged docker:container/${system}-web-manual`);
    expect(planned.stdout).not.toContain("reconciler");
    const refused = await reconcile(repo);
    expect(refused.code).toBe(4); // prune guard: 2 of 4 owned containers
    expect((await idsByName(system))[`${system}-worker-1`]).toBeDefined();

    const result = await reconcile(repo, "--max-delete", "2");
    expect(result.code).toBe(0);
    const names = (await containersOf(system)).map(nameOf);
    expect(names).toEqual([
      `${system}-probe`,
      `${system}-web`,
      `${system}-web-manual`,
      `${system}_reconciler`,
    ]);
    expect((await docker.getContainer(manual.id).inspect()).State.Running).toBe(true);
    await reconciler.remove({ force: true });
    await docker.getImage(`sysconfig-test/dt-config:${system}`).remove();
  });

  it("finishes an update interrupted after the old container was removed (only the new one, under its temporary name)", async () => {
    const before = await idsByName(system);
    const probe = before[`${system}-probe`] ?? "";
    await docker.getContainer(probe).rename({ name: `${system}-probe.next` });
    const planned = await plan(repo);
    expect(planned.stdout).toMatch(/drift: live only under the temporary name .*probe\.next/);

    expect((await reconcile(repo)).code).toBe(0);
    expect(await idsByName(system)).toEqual(before);
  });

  it("never takes over a name held by a container it did not create: conflict, exit 1, left alone", async () => {
    const squatter = await docker.createContainer({
      name: `${system}-extra`,
      Image: `${IMAGE}:1-main`,
      Cmd: ["sleep", "300"],
      HostConfig: { NetworkMode: "none" },
    });
    await squatter.start();
    const yaml = configYaml(system, port, { web: "2-main", probe: "2-main" });
    await commitConfig(
      repo,
      yaml.replace(
        "services:\n",
        `services:\n  extra:\n    image: ${IMAGE}\n    tag: 1-main\n    network: none\n`,
      ),
      "extra",
    );
    const result = await reconcile(repo);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`! conflict docker:container/${system}-extra`);
    const info = await docker.getContainer(squatter.id).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels["io.sysconfig.system"]).toBeUndefined();
    await squatter.remove({ force: true });
    await commitConfig(repo, yaml, "no extra");
  });

  it("refuses with exit 4 while another live reconciler holds the lock and something must change, and says how to clear a stale one", async () => {
    const lock = await createLockMarker(system, {
      "io.sysconfig.lock.owner": "test",
      "io.sysconfig.lock.pid": String(process.pid),
    });
    const yaml = configYaml(system, port, { web: "2-main", probe: "2-main" });
    try {
      // Nothing to change: nothing is written, so the run needs no lock and succeeds.
      const noop = await reconcile(repo);
      expect(noop.code).toBe(0);
      expect(noop.stderr).not.toContain("holds the lock");
      await commitConfig(repo, yaml.replace(/tag: 2-main/g, "tag: 1-main"), "pending change");
      const before = await idsByName(system);
      const result = await reconcile(repo);
      expect(result.code).toBe(4);
      expect(result.stderr).toContain("another reconciler holds the lock");
      expect(result.stderr).toContain(`docker rm sysconfig-lock-${system}`);
      expect(await idsByName(system)).toEqual(before);
    } finally {
      await lock.remove({ force: true });
      await commitConfig(repo, yaml, "no change");
    }
  });

  it("with --wait-lock gives up after --lock-timeout (exit 4), leaving the holder's lock and changing nothing", async () => {
    const yaml = configYaml(system, port, { web: "2-main", probe: "2-main" });
    await commitConfig(repo, yaml.replace(/tag: 2-main/g, "tag: 1-main"), "pending change");
    const lock = await createLockMarker(system, {
      "io.sysconfig.lock.owner": "live holder",
      "io.sysconfig.lock.pid": String(process.pid),
    });
    try {
      const before = await idsByName(system);
      const started = Date.now();
      const result = await reconcile(repo, "--wait-lock", "--lock-timeout", "2");
      const took = Date.now() - started;
      expect(result.code).toBe(4);
      expect(result.stderr).toContain(
        `gave up waiting for the lock sysconfig-lock-${system} held by live holder`,
      );
      expect(result.stderr).toContain("after 2 s (--lock-timeout). Nothing was changed.");
      expect(result.stderr).toContain(`docker rm sysconfig-lock-${system}`);
      expect(took).toBeGreaterThanOrEqual(2_000);
      expect(took).toBeLessThan(15_000);
      expect(await idsByName(system)).toEqual(before);
      const held = await docker.getContainer(`sysconfig-lock-${system}`).inspect();
      expect(held.Id).toBe(lock.id);
      expect(held.Config.Labels["io.sysconfig.lock.owner"]).toBe("live holder");
    } finally {
      await lock.remove({ force: true });
      await commitConfig(repo, configYaml(system, port, { web: "2-main", probe: "2-main" }), "no change");
    }
  });
});

describe("a reconciler killed in the middle of an update", () => {
  const system = uniqueSystem("dk");
  let repo: string;
  let cleanup: () => Promise<void>;
  let port: number;

  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-docker-kill-"));
    port = await freePort();
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  /** Starts a reconcile and sends it `signal` once the new probe container runs under its temporary name. */
  async function signalWhenNextAppears(signal: NodeJS.Signals) {
    const child = spawn(process.execPath, [CLI, "reconcile", "--repo", repo, "--target", "docker"], {
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    let seen: string[] = [];
    for (let i = 0; i < 200 && !seen.includes(`${system}-probe.next`); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = (await containersOf(system)).map(nameOf);
    }
    child.kill(signal);
    return { seen, exited };
  }

  it("leaves a duplicate behind, and the next run converges to one container per service", async () => {
    const v = { probeInterval: 3 };
    await commitConfig(repo, configYaml(system, port, { web: "1-main", probe: "1-main", ...v }), "v1");
    expect((await reconcile(repo)).code).toBe(0);
    await commitConfig(repo, configYaml(system, port, { web: "2-main", probe: "2-main", ...v }), "v2");

    const { seen, exited } = await signalWhenNextAppears("SIGKILL");
    await exited;
    // Killed between "start the new one" and "remove the old one": both exist, and the lock is left.
    expect(seen).toEqual(expect.arrayContaining([`${system}-probe`, `${system}-probe.next`]));
    expect((await containersOf(system)).map(nameOf)).toContain(`sysconfig-lock-${system}`);

    const result = await reconcile(repo);
    expect(result.stderr).toMatch(/removing a stale lock .* has exited/);
    expect(result.code).toBe(0);
    const containers = await containersOf(system);
    expect(containers.map(nameOf)).toEqual([`${system}-probe`, `${system}-web`]);
    for (const c of containers) expect(c.Image).toBe(`${IMAGE}:2-main`);
    expect(await httpGet(port)).toBe("web v2\n");
    expect((await plan(repo, "--exit-code")).code).toBe(0);
  });

  it("on SIGTERM mid-update removes the unfinished new container, keeps the old one and releases the lock", async () => {
    const before = await idsByName(system);
    await commitConfig(
      repo,
      configYaml(system, port, { web: "1-main", probe: "1-main", probeInterval: 3 }),
      "back to v1",
    );
    const { seen, exited } = await signalWhenNextAppears("SIGTERM");
    expect(seen).toContain(`${system}-probe.next`);
    expect(await exited).toBe(1);
    const after = await idsByName(system);
    expect(Object.keys(after)).toEqual([`${system}-probe`, `${system}-web`]); // no .next, no lock
    expect(after[`${system}-probe`]).toBe(before[`${system}-probe`]);
    expect((await reconcile(repo)).code).toBe(0);
    expect(await httpGet(port)).toBe("web v1\n");
  });
});

describe("two environments of one system on one engine", () => {
  const system = uniqueSystem("de");
  const warnings: string[] = [];
  const reporter = { info: () => undefined, debug: () => undefined, warn: (m: string) => warnings.push(m) };
  afterAll(() => removeSystem(system));

  async function state(environment: string, services: string[]): Promise<DesiredState> {
    const yaml = `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  ${environment}: { target: { kind: docker } }
services:
${services
  .map(
    (s) => `  ${s}:
    image: ${IMAGE}
    tag: 1-main
    network: none
    command: ["sh", "-c", "while true; do sleep 1; done"]`,
  )
  .join("\n")}
`;
    const { config, issues } = parseConfig(yaml);
    if (!config) throw new Error(issues.join("\n"));
    return {
      system,
      environment,
      revision: environment,
      target: { kind: "docker" },
      services: config.services,
      files: await renderAll(ROOT, config, environment),
    };
  }

  async function reconcileIn(environment: string, services: string[]) {
    const desired = await state(environment, services);
    const target = createDockerTarget(
      { kind: "docker" },
      { env: {}, environment, reporter, wait: { settleMs: 200 } },
    );
    const changes = diffObjects(target.desiredObjects(desired), await target.readActual(system));
    const results = await applyChanges(target, changes, {
      system,
      revision: desired.revision,
      reporter,
      levels: dependencyLevels(desired.services),
      parallelism: 4,
      wait: true,
      timeoutMs: 30_000,
    });
    return { changes, results };
  }

  it("labels containers with their environment and never deletes another environment's", async () => {
    const staging = await reconcileIn("staging", ["web"]);
    expect(staging.results.map((r) => [r.subject, r.status])).toEqual([
      [`docker:container/${system}-web`, "healthy"],
    ]);
    const [web] = await containersOf(system);
    expect(web?.Labels["io.sysconfig.environment"]).toBe("staging");

    // production runs no web: before, it counted staging's web as its own and deleted it.
    const prod = await reconcileIn("prod", ["api"]);
    expect(prod.changes.filter((c) => c.action === "delete")).toEqual([]);
    const web2 = prod.changes.find((c) => c.subject === `docker:container/${system}-web`);
    expect(web2?.action).toBe("unmanaged");
    expect(web2?.actual?.text).toContain("managed by environment staging");
    expect((await containersOf(system)).map(nameOf)).toEqual([`${system}-api`, `${system}-web`]);

    // and staging, in turn, leaves prod's api alone.
    const again = await reconcileIn("staging", ["web"]);
    expect(again.changes.filter((c) => c.action !== "unmanaged" && c.action !== "unchanged")).toEqual([]);
    expect((await containersOf(system)).map(nameOf)).toEqual([`${system}-api`, `${system}-web`]);
  }, 90_000);

  /** A container as an older sysconfig made it: the full marker but no environment label. */
  async function olderContainer(service: string) {
    const name = `${system}-${service}`;
    const container = await docker.createContainer({
      name,
      Image: `${IMAGE}:1-main`,
      Cmd: ["sh", "-c", "while true; do sleep 1; done"],
      HostConfig: { NetworkMode: "none" },
      Labels: {
        "io.sysconfig.system": system,
        "io.sysconfig.service": service,
        "io.sysconfig.hash": "0".repeat(64),
        "io.sysconfig.name": name,
        "io.sysconfig.role": "service",
        "io.sysconfig.spec": `name: ${name}\n`,
      },
    });
    await container.start();
    return container;
  }

  it("owns a container of an older sysconfig (no environment label) only while this run desires its name", async () => {
    const legacy = await olderContainer("legacy");
    const old = await olderContainer("old");
    warnings.length = 0;
    const { changes, results } = await reconcileIn("staging", ["web", "legacy"]);

    // desired by name: owned, so updated (the update writes the environment label) instead of a conflict.
    const adopted = changes.find((c) => c.subject === `docker:container/${system}-legacy`);
    expect(adopted?.action).toBe("update");
    expect(results.find((r) => r.subject === adopted?.subject)?.status).toBe("healthy");
    const labelled = (await containersOf(system)).find((c) => nameOf(c) === `${system}-legacy`);
    expect(labelled?.Labels["io.sysconfig.environment"]).toBe("staging");
    expect(labelled?.Id).not.toBe(legacy.id);

    // not desired: unmanaged, reported, never changed or deleted.
    const change = changes.find((c) => c.subject === `docker:container/${system}-old`);
    expect(change?.action).toBe("unmanaged");
    expect(change?.actual?.text).toContain(`docker rm -f ${system}-old`);
    expect(changes.filter((c) => c.action === "delete")).toEqual([]);
    expect(warnings.join("\n")).toContain(
      `carry no environment label (made by an older sysconfig) and are not in the config of staging: ${system}-old.`,
    );
    expect((await old.inspect()).State.Running).toBe(true);
  }, 90_000);

  it("never touches a container that carries our labels under a name sysconfig did not give it (docker commit)", async () => {
    const web = docker.getContainer(`${system}-web`);
    const snapshot = `sysconfig-test/${system}-snap`;
    await web.commit({ repo: snapshot, tag: "latest" });
    const debug = await docker.createContainer({
      name: `${system}-web-debug`,
      Image: `${snapshot}:latest`,
      Cmd: ["sh", "-c", "while true; do sleep 1; done"],
      HostConfig: { NetworkMode: "none" },
    });
    try {
      await debug.start();
      const labels = (await debug.inspect()).Config.Labels;
      expect(labels["io.sysconfig.name"]).toBe(`${system}-web`);
      expect(labels["io.sysconfig.environment"]).toBe("staging");

      // not a leftover of web: web stays unchanged, the copy is listed as unmanaged.
      const first = await reconcileIn("staging", ["web", "legacy"]);
      const byName = (name: string) => first.changes.find((c) => c.subject === `docker:container/${name}`);
      expect(byName(`${system}-web`)?.action).toBe("unchanged");
      expect(byName(`${system}-web-debug`)?.action).toBe("unmanaged");
      expect(byName(`${system}-web-debug`)?.actual?.text).toContain(
        `carries the sysconfig labels of ${system}-web`,
      );

      // deleting web deletes web only; the copy keeps running under its own name.
      const second = await reconcileIn("staging", ["legacy"]);
      expect(second.changes.filter((c) => c.action === "delete").map((c) => c.subject)).toEqual([
        `docker:container/${system}-web`,
      ]);
      const names = (await containersOf(system)).map(nameOf);
      expect(names).toContain(`${system}-web-debug`);
      expect(names).not.toContain(`${system}-web`);
      expect((await debug.inspect()).State.Running).toBe(true);
    } finally {
      await debug.remove({ force: true }).catch(() => undefined);
      await docker
        .getImage(`${snapshot}:latest`)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }, 90_000);
});

describe("the lock's stale takeover", () => {
  const system = uniqueSystem("dl");
  const name = `sysconfig-lock-${system}`;
  let engine: string;
  let deadPid: number;
  const warnings: string[] = [];
  const reporter = { info: () => undefined, debug: () => undefined, warn: (m: string) => warnings.push(m) };

  beforeAll(async () => {
    engine = ((await docker.info()) as { ID: string }).ID;
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    deadPid = child.pid ?? 0;
    await new Promise((resolve) => child.once("exit", resolve));
  });
  afterAll(() => removeSystem(system));

  async function holder(labels: Record<string, string>): Promise<void> {
    await createLockMarker(system, {
      "io.sysconfig.lock.owner": "other reconciler",
      "io.sysconfig.lock.pid": String(deadPid),
      ...labels,
    });
  }
  const machine = async () => (await readFile("/etc/machine-id", "utf8")).trim();
  const acquire = () => acquireDockerLock(docker, system, "test", false, reporter);

  it("records the engine ID, host, machine and pid in the lock marker", async () => {
    const lock = await acquire();
    const labels = (await docker.getContainer(name).inspect()).Config.Labels;
    expect(labels).toMatchObject({
      "io.sysconfig.lock.engine": engine,
      "io.sysconfig.lock.host": os.hostname(),
      "io.sysconfig.lock.machine": await machine(),
      "io.sysconfig.lock.pid": String(process.pid),
    });
    await lock.release();
  });

  it("takes over a lock whose holder ran on this machine through this engine and has exited", async () => {
    await holder({ "io.sysconfig.lock.engine": engine, "io.sysconfig.lock.machine": await machine() });
    warnings.length = 0;
    const lock = await acquire();
    expect(warnings.join("\n")).toMatch(
      new RegExp(`removing a stale lock .*process ${deadPid} on this host has exited`),
    );
    await lock.release();
  });

  it("never takes over a lock from another machine with the same hostname: refuses (exit 4) and says how to remove it", async () => {
    await holder({ "io.sysconfig.lock.engine": engine, "io.sysconfig.lock.machine": "another-machine" });
    try {
      await expect(acquire()).rejects.toMatchObject({ exitCode: 4 });
      await expect(acquire()).rejects.toThrow(`remove the lock by hand: docker rm ${name}`);
      expect((await docker.getContainer(name).inspect()).Config.Labels["io.sysconfig.lock.machine"]).toBe(
        "another-machine",
      );
    } finally {
      await docker.getContainer(name).remove({ force: true });
    }
  });

  it("never takes over a lock taken through another engine, or by an older sysconfig that did not record one", async () => {
    const cases: Record<string, string>[] = [
      { "io.sysconfig.lock.engine": "SOME:OTHER:ENGINE", "io.sysconfig.lock.machine": await machine() },
      { "io.sysconfig.lock.container": "f".repeat(64) },
      {},
    ];
    for (const labels of cases) {
      await holder(labels);
      try {
        await expect(acquire()).rejects.toMatchObject({ exitCode: 4 });
      } finally {
        await docker.getContainer(name).remove({ force: true });
      }
    }
  });

  it("takes over a lock whose reconciler container on this engine is gone", async () => {
    await holder({ "io.sysconfig.lock.engine": engine, "io.sysconfig.lock.container": "f".repeat(64) });
    warnings.length = 0;
    const lock = await acquire();
    expect(warnings.join("\n")).toContain("is gone");
    await lock.release();
  });
});
