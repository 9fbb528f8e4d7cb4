// The target's own rules run at validate (and render, plan: one validation): what the Docker engine would
// refuse at create, and names that would be another system's lock, are exit 3 before anything changes.
// Real git repos, the built CLI.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { specProblems } from "../reconciler/targets/docker/spec-rules.js";
import { runCli } from "./helpers/cli.js";
import { commitConfig } from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;
let count = 0;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-spec-rules-"));
});
afterAll(() => cleanup());

/** A committed config repo for one environment `main` of `kind`, rendered by the library (unchecked). */
async function repoWith(system: string, services: string, kind = "docker"): Promise<string> {
  const dir = path.join(root, `repo-${(count += 1)}`);
  await mkdir(dir);
  const yaml =
    `name: ${system}\nimage: 127.0.0.1:5000/acme/sysconfig\nenvironments:\n  main: { target: { kind: ${kind} } }\n` +
    `services:\n${services}`;
  await commitConfig(dir, yaml, "config");
  return dir;
}

const service = (name: string, extra = "") =>
  `  ${name}:\n    image: 127.0.0.1:5000/acme/${name}\n    tag: 1-main\n    network: none\n${extra}`;

async function refused(dir: string, expected: string, commands = [["validate"]]): Promise<void> {
  for (const args of commands) {
    const endpoint = args[0] === "plan" ? ["--endpoint", "unix:///nonexistent/docker.sock"] : [];
    const result = await runCli([...args, "--repo", dir, ...endpoint]);
    expect({ args, code: result.code }).toEqual({ args, code: 3 });
    expect(result.stderr).toContain(expected);
  }
}

describe("docker spec rules at validate", () => {
  it("refuses a relative volume source in validate, render --check and plan, naming the file and entry", async () => {
    const dir = await repoWith("acme", service("web", "    volumes: [{ source: ./data, target: /data }]\n"));
    await refused(
      dir,
      "rendered/web.yaml: volumes.0.source: './data' is neither an absolute host path nor a volume name",
      [["validate"], ["render", "--check"], ["plan"]],
    );
  });

  it("refuses two mounts on one container path", async () => {
    const dir = await repoWith(
      "acme",
      service(
        "web",
        "    volumes: [{ source: /srv/a, target: /data }, { source: /srv/b, target: /data/ }]\n",
      ),
    );
    await refused(dir, "volumes.1.target: '/data' is already mounted by volumes.0");
  });

  it("refuses two services publishing one host port on the Docker host", async () => {
    const ports = "    network: host\n    ports: [{ container: 8080 }]\n";
    const dir = await repoWith(
      "acme",
      `  web:\n    image: 127.0.0.1:5000/acme/web\n    tag: 1-main\n${ports}` +
        `  api:\n    image: 127.0.0.1:5000/acme/api\n    tag: 1-main\n${ports}`,
    );
    await refused(dir, "host port 8080/tcp is published by both");
  });

  it("accepts a named volume and distinct mounts", async () => {
    const dir = await repoWith(
      "acme",
      service(
        "web",
        "    volumes: [{ source: web-data, target: /data }, { source: /srv/conf, target: /conf }]\n",
      ),
    );
    const result = await runCli(["validate", "--repo", dir]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("lists every problem of a spec with its path", () => {
    const problems = specProblems({
      service: "web",
      image: "x:1-main",
      instances: 1,
      env: {},
      ports: [
        { container: 80, host: 8080, protocol: "tcp" },
        { container: 81, host: 8080, protocol: "tcp" },
        { container: 80, host: 9090, protocol: "tcp" },
      ],
      volumes: [
        { source: "data/x", target: "/", readOnly: false },
        { source: "/a:b", target: "/c", readOnly: false },
      ],
      restart: "always",
      network: "bridge",
      dependsOn: [],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^volumes\.0\.source: 'data\/x' is neither/),
      "volumes.0.target: Docker refuses to mount over the container's root '/'",
      "volumes.1.source: '/a:b' contains ':' or ',', which Docker's mount syntax splits on",
      "ports.1: host port 8080/tcp is already published by ports.0",
      expect.stringMatching(/^ports\.2: container port 80\/tcp is already listed by ports\.0/),
    ]);
  });
});

describe("names a config produces never equal a lock's name", () => {
  it("refuses a system named sysconfig-lock (its containers would be other systems' locks)", async () => {
    const dir = await repoWith("sysconfig-lock", service("web"));
    await refused(
      dir,
      "service 'web' of system 'sysconfig-lock' makes the container name 'sysconfig-lock-web', which is the " +
        "name of the reconcile lock of system 'web'",
      [["validate"], ["plan"]],
    );
  });

  it("refuses system sysconfig with a service lock-x, and instances of a service lock", async () => {
    await refused(await repoWith("sysconfig", service("lock-x")), "container name 'sysconfig-lock-x'");
    await refused(
      await repoWith("sysconfig", service("lock", "    instances: 2\n")),
      "container name 'sysconfig-lock-1', which is the name of the reconcile lock of system '1'",
    );
  });

  it("refuses a fleet service whose unit would be a lock unit", async () => {
    const dir = await repoWith("shop", service("sysconfig-lock-x"), "fleet");
    await refused(dir, "makes the fleet unit name 'sysconfig-lock-x.service'");
  });

  it("accepts look-alikes that are not lock names (system sysconfig, service locksmith)", async () => {
    const dir = await repoWith("sysconfig", service("locksmith"));
    expect((await runCli(["validate", "--repo", dir])).code).toBe(0);
  });
});
