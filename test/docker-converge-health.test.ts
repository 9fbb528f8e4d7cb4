// "Converged means healthy" on the real Docker engine, through the built CLI: an unhealthy container with
// the desired spec is not "unchanged", no delete runs while one is unhealthy (across runs), a create cut
// short leaves a change for the next run, an interrupted stop-first update is undone, and a hand-made
// `<name>.next` is a conflict found at plan, before anything is stopped.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { applyChanges } from "../reconciler/apply/engine.js";
import { dependencyLevels } from "../reconciler/apply/order.js";
import { parseConfig } from "../reconciler/config/load.js";
import { diffObjects } from "../reconciler/diff/diff.js";
import { renderAll } from "../reconciler/render/render.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createDockerTarget } from "../reconciler/targets/docker/target.js";
import { CLI, ROOT, runCli } from "./helpers/cli.js";
import {
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

const IMAGE = "sysconfig-test/ch-web";

const reconcile = (repo: string, ...args: string[]) =>
  runCli(["reconcile", "--repo", repo, "--target", "docker", "--timeout", "8", ...args]);
const plan = (repo: string, ...args: string[]) =>
  runCli(["plan", "--repo", repo, "--target", "docker", ...args]);

/** A config of `services` (YAML bodies, indented by four spaces) for `system`. */
function configYaml(system: string, services: Record<string, string>): string {
  const body = Object.entries(services)
    .map(([name, spec]) => `  ${name}:\n${spec.replace(/^/gm, "    ")}`)
    .join("\n");
  return `name: ${system}\nimage: 127.0.0.1:5000/${system}/sysconfig\nenvironments:\n  main: { target: { kind: docker } }\nservices:\n${body}\n`;
}

/** httpd on a host port, healthy when / answers (tag 3-main has no index.html: never healthy). */
const webService = (port: number, tag: string) =>
  `image: ${IMAGE}\ntag: ${tag}\ncommand: ["httpd", "-f", "-p", "${port}", "-h", "/www"]\n` +
  `ports: [{ container: ${port} }]\nhealth: { http: { path: /, port: ${port} }, intervalSeconds: 1, retries: 1 }`;
const sleeper = (extra = "") =>
  `image: ${IMAGE}\ntag: 1-main\nnetwork: none\ncommand: ["sh", "-c", "while true; do sleep 1; done"]${extra}`;
const crashLoop = `image: ${IMAGE}\ntag: 1-main\nnetwork: none\ncommand: ["sh", "-c", "echo crashing; exit 3"]`;

async function stateOf(system: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of await containersOf(system)) out[nameOf(c)] = c.State;
  return out;
}

async function until(what: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  await buildWebImage(`${IMAGE}:1-main`, "web v1\n");
  await buildWebImage(`${IMAGE}:3-main`, undefined);
});

describe("no delete while a desired container is unhealthy, across runs", () => {
  const system = uniqueSystem("chr");
  let repo: string;
  let cleanup: () => Promise<void>;
  let port: number;
  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-ch-rename-"));
    port = await freePort();
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("renames web → web2 with a crash-looping image: run 2 shows web2 unhealthy, keeps web, exits 1", async () => {
    await commitConfig(repo, configYaml(system, { web: webService(port, "1-main") }), "v1");
    expect((await reconcile(repo)).code).toBe(0);
    await commitConfig(repo, configYaml(system, { web2: crashLoop }), "rename to a crash-looping web2");

    const run1 = await reconcile(repo);
    expect(run1.code).toBe(1);
    expect(await httpGet(port)).toBe("web v1\n");

    // Run 2, seconds later: web2 exists with the desired spec but is not healthy.
    const planned = await plan(repo, "--exit-code");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toMatch(
      new RegExp(
        `! (unhealthy|progressing) docker:container/${system}-web2: (keeps restarting \\(exit 3\\)|restarted)`,
      ),
    );
    expect(planned.stdout).toMatch(/note: held back: 1 desired object\(s\) are not healthy/);
    expect(planned.stdout).toContain("1 to delete, 0 unchanged, 1 unhealthy");
    const json = JSON.parse((await plan(repo, "--output", "json")).stdout) as {
      changes: { action: string; subject: string; health?: { state: string } }[];
      summary: { unhealthy: number; unchanged: number };
    };
    expect(json.summary).toMatchObject({ unhealthy: 1, unchanged: 0 });

    const run2 = await reconcile(repo);
    expect(run2.code).toBe(1);
    const output = run2.stdout + run2.stderr;
    expect(output).toMatch(new RegExp(`unhealthy +docker:container/${system}-web2: unhealthy: `));
    expect(output).toMatch(new RegExp(`delete +docker:container/${system}-web: skipped: not pruned`));
    expect(Object.keys(await stateOf(system))).toContain(`${system}-web`);
    expect(await httpGet(port)).toBe("web v1\n");
  });
});

describe("a container that crashed once, seconds after it was created", () => {
  const system = uniqueSystem("chr1");
  let repo: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-ch-once-"));
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  // Between two exits a crash-looping container is "Up Less than a second"; created seconds ago, its
  // list entry looks like a first start. Its restart count tells: the plan must not call it unchanged.
  it("is progressing at plan in its first minute, from its restart count, not unchanged", async () => {
    const once =
      `image: ${IMAGE}\ntag: 1-main\nnetwork: none\ncommand: ["sh", "-c", ` +
      `"if [ -e /tmp/ran ]; then while true; do sleep 1; done; fi; touch /tmp/ran; exit 3"]`;
    await commitConfig(repo, configYaml(system, { once }), "v1");
    expect((await reconcile(repo)).code).toBe(1); // it restarted while reconcile watched it settle
    await until(async () => (await stateOf(system))[`${system}-once`] === "running", 10_000);
    const planned = await plan(repo, "--exit-code");
    expect(planned.stdout).toMatch(
      new RegExp(
        `! progressing docker:container/${system}-once: restarted 1 time\\(s\\) by its restart policy`,
      ),
    );
    expect(planned.code).toBe(2);
  });
});

describe("a health check that never passes", () => {
  const system = uniqueSystem("chh");
  let repo: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-ch-health-"));
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("is unhealthy on every later run too, and holds back the delete of what it replaces", async () => {
    await commitConfig(repo, configYaml(system, { old: sleeper() }), "v1");
    expect((await reconcile(repo)).code).toBe(0);
    const failing = `\nhealth: { command: ["false"], intervalSeconds: 1, retries: 1 }`;
    await commitConfig(repo, configYaml(system, { fresh: sleeper(failing) }), "replace old with fresh");
    expect((await reconcile(repo)).code).toBe(1);
    await until(async () => /\(unhealthy\)/.test(JSON.stringify(await containersOf(system))), 15_000);

    const planned = await plan(repo, "--exit-code");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain(`! unhealthy docker:container/${system}-fresh: health check failing`);
    const run2 = await reconcile(repo);
    expect(run2.code).toBe(1);
    expect(run2.stdout + run2.stderr).toMatch(/health check failed/);
    expect(await stateOf(system)).toEqual({ [`${system}-fresh`]: "running", [`${system}-old`]: "running" });
  });
});

describe("a create cut short by SIGTERM while the health check is starting", () => {
  const system = uniqueSystem("chs");
  let repo: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-ch-starting-"));
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("leaves a change for the next run, which waits until it is healthy (never 'Nothing to do.')", async () => {
    // Ready after ~20 s: the health check reads a file the command writes then.
    const slow =
      `image: ${IMAGE}\ntag: 1-main\nnetwork: none\n` +
      `command: ["sh", "-c", "sleep 20; touch /tmp/ready; while true; do sleep 1; done"]\n` +
      `health: { command: ["cat", "/tmp/ready"], intervalSeconds: 1, retries: 1, startPeriodSeconds: 60 }`;
    await commitConfig(repo, configYaml(system, { slow }), "v1");
    const child = spawn(process.execPath, [CLI, "reconcile", "--repo", repo, "--target", "docker"], {
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await until(async () => (await stateOf(system))[`${system}-slow`] === "running", 30_000);
    child.kill("SIGTERM");
    await exited;
    expect(JSON.stringify(await containersOf(system))).toContain("health: starting");

    const planned = await plan(repo, "--exit-code");
    expect(planned.code).toBe(2);
    expect(planned.stdout).not.toContain("No changes");
    expect(planned.stdout).toContain(
      `! progressing docker:container/${system}-slow: running, health check starting`,
    );
    const next = await runCli(["reconcile", "--repo", repo, "--target", "docker", "--timeout", "60"]);
    expect(next.stdout).not.toContain("Nothing to do.");
    expect(next.stdout).toMatch(new RegExp(`unhealthy +docker:container/${system}-slow: healthy`));
    expect(next.code).toBe(0);
    expect((await plan(repo, "--exit-code")).code).toBe(0);
  });
});

describe("a stop-first update killed with SIGKILL after the old container was stopped", () => {
  const system = uniqueSystem("chk");
  let repo: string;
  let cleanup: () => Promise<void>;
  let port: number;
  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-ch-kill-"));
    port = await freePort();
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("is undone by the next run: the old container is started again, checked, and serves", async () => {
    await commitConfig(repo, configYaml(system, { web: webService(port, "1-main") }), "v1");
    expect((await reconcile(repo)).code).toBe(0);
    await commitConfig(repo, configYaml(system, { web: webService(port, "3-main") }), "v3 never healthy");
    const child = spawn(process.execPath, [CLI, "reconcile", "--repo", repo, "--target", "docker"], {
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await until(async () => `${system}-web.next` in (await stateOf(system)), 30_000);
    child.kill("SIGKILL");
    await exited;
    const left = await stateOf(system);
    expect(left[`${system}-web`]).toBe("exited");
    expect(await httpGet(port)).toBe("");

    const next = await reconcile(repo);
    expect(next.code).toBe(1);
    const output = next.stdout + next.stderr;
    expect(output).toContain(`The old container ${system}-web was started again and is running (checked).`);
    expect(output).not.toContain("keeps serving");
    expect((await stateOf(system))[`${system}-web`]).toBe("running");
    expect(await httpGet(port)).toBe("web v1\n");
  });
});

describe("a container made by hand under the temporary name <name>.next", () => {
  const system = uniqueSystem("chn");
  let repo: string;
  let cleanup: () => Promise<void>;
  let port: number;
  beforeAll(async () => {
    ({ dir: repo, cleanup } = await tempDir("sysconfig-ch-next-"));
    port = await freePort();
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("is a conflict at plan; the stop-first update is refused before anything is stopped", async () => {
    await commitConfig(repo, configYaml(system, { web: webService(port, "1-main") }), "v1");
    expect((await reconcile(repo)).code).toBe(0);
    const before = await containersOf(system);
    await docker.createContainer({
      name: `${system}-web.next`,
      Image: `${IMAGE}:1-main`,
      Cmd: ["sleep", "600"],
      HostConfig: { NetworkMode: "none" },
    });
    await commitConfig(repo, configYaml(system, { web: webService(port, "3-main") }), "v3");

    const planned = await plan(repo, "--exit-code");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain(`! conflict docker:container/${system}-web (update refused)`);
    expect(planned.stdout).toContain(`note: conflict: the temporary name ${system}-web.next`);
    const result = await reconcile(repo);
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toMatch(new RegExp(`update +docker:container/${system}-web: refused: conflict`));
    expect(output).not.toContain("..");
    const web = (await containersOf(system)).find((c) => nameOf(c) === `${system}-web`);
    expect(web?.Id).toBe(before.find((c) => nameOf(c) === `${system}-web`)?.Id);
    expect(web?.State).toBe("running");
    expect(await httpGet(port)).toBe("web v1\n");
  });

  it("when <name>.next appears between plan and apply, says so in sentences and checks the old container runs", async () => {
    await docker.getContainer(`${system}-web.next`).remove({ force: true });
    const { config, issues } = parseConfig(configYaml(system, { web: webService(port, "3-main") }));
    if (!config) throw new Error(issues.join("\n"));
    const desired = {
      system,
      environment: "main",
      revision: "race",
      target: { kind: "docker" as const },
      services: config.services,
      files: await renderAll(ROOT, config, "main"),
    };
    const target = createDockerTarget(
      { kind: "docker" },
      { env: {}, environment: "main", reporter: silentReporter },
    );
    const changes = diffObjects(target.desiredObjects(desired), await target.readActual(system));
    expect(changes.map((c) => c.action)).toEqual(["update"]);
    await docker.createContainer({
      name: `${system}-web.next`,
      Image: `${IMAGE}:1-main`,
      Cmd: ["sleep", "600"],
      HostConfig: { NetworkMode: "none" },
    });
    const [result] = await applyChanges(target, changes, {
      system,
      revision: "race",
      reporter: silentReporter,
      levels: dependencyLevels(desired.services),
      parallelism: 1,
      wait: true,
      timeoutMs: 20_000,
    });
    expect(result?.status).toBe("failed");
    expect(result?.reason).toMatch(
      new RegExp(
        `reconcile again\\. The old container ${system}-web was started again and is running \\(checked\\)\\.$`,
      ),
    );
    expect(result?.reason).not.toContain("..");
    expect(await httpGet(port)).toBe("web v1\n");
  });
});
