// Image pulls with registry credentials: a service image only on the htpasswd registry (127.0.0.1:5001)
// is pulled with the same credentials sysconfig build pushes with, and refused without them.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { runCli } from "./helpers/cli.js";
import {
  buildWebImage,
  commitConfig,
  containersOf,
  docker,
  nameOf,
  removeSystem,
  uniqueSystem,
} from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const PASSWORD_FILE = "/var/lib/sysconfig-services/registry/password";
const system = uniqueSystem("dp");
const repository = `127.0.0.1:5001/${system}/web`;
let repo: string;
let home: string;
let cleanup: () => Promise<void>;
let cleanupHome: () => Promise<void>;

beforeAll(async () => {
  ({ dir: repo, cleanup } = await tempDir("sysconfig-docker-pull-"));
  ({ dir: home, cleanup: cleanupHome } = await tempDir("sysconfig-docker-home-"));
  const password = (await readFile(PASSWORD_FILE, "utf8")).trim();
  await buildWebImage(`${repository}:1-main`, "pulled\n");
  const stream = await docker.getImage(`${repository}:1-main`).push({
    authconfig: { username: "sysconfig", password, serveraddress: "127.0.0.1:5001" },
  });
  const events = await new Promise<{ error?: string }[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) =>
      err ? reject(err) : resolve(out),
    );
  });
  expect(events.find((e) => e.error !== undefined)).toBeUndefined();
  await docker.getImage(`${repository}:1-main`).remove();
  await commitConfig(
    repo,
    `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main: { target: { kind: docker } }
services:
  web:
    image: ${repository}
    tag: 1-main
    network: none
    command: ["sh", "-c", "while true; do sleep 1; done"]
`,
    "init",
  );
});

afterAll(async () => {
  await removeSystem(system);
  await docker
    .getImage(`${repository}:1-main`)
    .remove()
    .catch(() => undefined);
  await cleanup();
  await cleanupHome();
});

it("fails with the registry's reason when no credentials are found, and creates nothing", async () => {
  const result = await runCli(["reconcile", "--repo", repo, "--target", "docker"], {
    env: { HOME: home, DOCKER_CONFIG: `${home}/.docker` },
  });
  expect(result.code).toBe(1);
  expect(result.stdout + result.stderr).toMatch(
    /pull 127\.0\.0\.1:5001\/.*failed: .*no registry credentials were found/,
  );
  expect(await containersOf(system)).toEqual([]);
});

it("pulls a missing image with SYSCONFIG_REGISTRY_USERNAME + SYSCONFIG_REGISTRY_PASSWORD_FILE and runs it", async () => {
  const result = await runCli(["reconcile", "--repo", repo, "--target", "docker"], {
    env: {
      HOME: home,
      DOCKER_CONFIG: `${home}/.docker`,
      SYSCONFIG_REGISTRY: "127.0.0.1:5001",
      SYSCONFIG_REGISTRY_USERNAME: "sysconfig",
      SYSCONFIG_REGISTRY_PASSWORD_FILE: PASSWORD_FILE,
    },
  });
  expect(result.stderr).toContain(`pulling ${repository}:1-main`);
  expect(result.code).toBe(0);
  const containers = await containersOf(system);
  expect(containers.map(nameOf)).toEqual([`${system}-web`]);
  expect(containers[0]?.State).toBe("running");
});
