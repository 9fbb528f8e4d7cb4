// The docker target's pure parts, with literals: rendered spec → desired containers, hash, masked text,
// stop-first notes, the engine create body, and where pull credentials come from.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { parseConfig } from "../reconciler/config/load.js";
import { InvalidInputError } from "../reconciler/errors.js";
import type { DesiredState } from "../reconciler/model.js";
import { renderAll } from "../reconciler/render/render.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createTarget } from "../reconciler/targets/create.js";
import { createBody } from "../reconciler/targets/docker/create-body.js";
import { dockerDesiredObjects } from "../reconciler/targets/docker/desired.js";
import { couldCollide } from "../reconciler/targets/docker/marker.js";
import { registryAuthFor, registryOf } from "../reconciler/registry/credentials.js";
import { tempDir } from "./helpers/tmp.js";

const CONFIG = `
name: acme
image: 127.0.0.1:5000/acme/sysconfig
environments:
  develop: { target: { kind: docker } }
services:
  hello:
    image: 127.0.0.1:5000/acme/hello
    tag: 1-develop
    ports: [{ container: 8080 }]
    env: { GREETING: hello from acme, DB_PASSWORD: hunter2 }
    volumes: [{ source: /srv/data, target: /data, readOnly: true }]
    health: { http: { path: /, port: 8080 }, intervalSeconds: 2, retries: 5 }
  worker:
    image: 127.0.0.1:5000/acme/worker
    tag: 1-develop
    instances: 3
    network: none
    command: ["sh", "-c", "echo $INSTANCE"]
    dependsOn: [hello]
`;

async function stateOf(yaml: string, revision = "abc123"): Promise<DesiredState> {
  const { config, issues } = parseConfig(yaml);
  if (!config) throw new Error(issues.join("\n"));
  return {
    system: config.name,
    environment: "develop",
    revision,
    target: { kind: "docker" },
    services: config.services,
    files: await renderAll(process.cwd(), config, "develop"),
  };
}

describe("docker desired objects", () => {
  it("names containers <system>-<service>, instances <system>-<service>-<i> in one roll group with INSTANCE set", async () => {
    const objects = dockerDesiredObjects(await stateOf(CONFIG));
    expect(objects.map((o) => o.subject)).toEqual([
      "docker:container/acme-hello",
      "docker:container/acme-worker-1",
      "docker:container/acme-worker-2",
      "docker:container/acme-worker-3",
    ]);
    const worker2 = objects[2];
    expect(worker2).toMatchObject({
      service: "worker",
      rollGroup: "worker",
      rollIndex: 2,
      dependsOn: ["hello"],
    });
    expect(worker2?.spec).toMatchObject({ env: { INSTANCE: "2" }, network: "none" });
    expect(objects[0]?.rollGroup).toBeUndefined();
  });

  it("hashes the spec, not the revision: a new commit alone changes nothing, a new tag changes the hash", async () => {
    const [a] = dockerDesiredObjects(await stateOf(CONFIG, "rev-1"));
    const [b] = dockerDesiredObjects(await stateOf(CONFIG, "rev-2"));
    const [c] = dockerDesiredObjects(await stateOf(CONFIG.replace("tag: 1-develop", "tag: 2-develop")));
    expect(a?.hash).toBe(b?.hash);
    expect(c?.hash).not.toBe(a?.hash);
  });

  it("masks secret-looking env values in the plan text with a short hash, and keeps the others readable", async () => {
    const [hello] = dockerDesiredObjects(await stateOf(CONFIG));
    expect(hello?.text).toContain("GREETING: hello from acme");
    expect(hello?.text).toMatch(/DB_PASSWORD: "?<secret hmac:[0-9a-f]{8}>"?/);
    expect(hello?.text).not.toContain("hunter2");
  });

  it("says in the plan when an update must stop the old container first (a host port), and not otherwise", async () => {
    const objects = dockerDesiredObjects(await stateOf(CONFIG));
    expect(objects[0]?.updateNotes?.[0]).toMatch(/^stop-first: host port 8080\/tcp/);
    expect(objects[1]?.updateNotes).toBeUndefined();
  });

  it("refuses several instances publishing the same host port on one host (exit 3)", async () => {
    const state = await stateOf(
      CONFIG.replace("tag: 1-develop\n    ports", "tag: 1-develop\n    instances: 2\n    ports"),
    );
    expect(() => dockerDesiredObjects(state)).toThrow(/would collide/);
  });

  it("rejects a rendered file that is not a container spec, naming the file (exit 3)", async () => {
    const state = await stateOf(CONFIG);
    state.files = [
      { service: "hello", path: "rendered/hello.yaml", content: "service: hello\nimage: x\nbogus: 1\n" },
    ];
    expect(() => dockerDesiredObjects(state)).toThrow(InvalidInputError);
    expect(() => dockerDesiredObjects(state)).toThrow(/rendered\/hello\.yaml.*bogus/s);
    state.files = [{ service: "hello", path: "rendered/hello.service", content: "[Unit]\n" }];
    expect(() => dockerDesiredObjects(state)).toThrow(/made for another target kind/);
  });
});

describe("the default target", () => {
  it("is docker when an environment names no target", async () => {
    const { config } = parseConfig(
      "name: acme\nimage: 127.0.0.1:5000/acme/sysconfig\nenvironments:\n  develop: {}\nservices: {}\n",
    );
    const target = config?.environments.develop?.target;
    expect(target).toEqual({ kind: "docker" });
    const created = await createTarget(target ?? { kind: "docker" }, {
      reporter: silentReporter,
      env: {},
      environment: "develop",
    });
    expect(created.kind).toBe("docker");
    await created.close();
  });
});

describe("docker create body", () => {
  it("carries the marker labels, an init process, restart policy, binds and a health check in nanoseconds", async () => {
    const [hello] = dockerDesiredObjects(await stateOf(CONFIG));
    const body = createBody(hello?.spec as never, "acme-hello.next", {
      system: "acme",
      environment: "develop",
      revision: "abc123",
      hash: hello?.hash ?? "",
      text: hello?.text ?? "",
    });
    expect(body).toMatchObject({
      name: "acme-hello.next",
      Image: "127.0.0.1:5000/acme/hello:1-develop",
      Labels: {
        "io.sysconfig.system": "acme",
        "io.sysconfig.environment": "develop",
        "io.sysconfig.service": "hello",
        "io.sysconfig.name": "acme-hello",
        "io.sysconfig.revision": "abc123",
        "io.sysconfig.hash": hello?.hash,
      },
      HostConfig: {
        Init: true,
        NetworkMode: "host",
        RestartPolicy: { Name: "always" },
        Binds: ["/srv/data:/data:ro"],
      },
      Healthcheck: {
        Test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
        Interval: 2_000_000_000,
        Retries: 5,
      },
    });
    expect(body.Env).toContain("DB_PASSWORD=hunter2");
    expect(body.HostConfig?.PortBindings).toBeUndefined(); // host network: ports are the host's already
  });
});

describe("names that could collide", () => {
  it("are the system's prefix followed by a service-like name", () => {
    expect(couldCollide("acme", "acme-hello")).toBe(true);
    expect(couldCollide("acme", "acme-hello.next")).toBe(true);
    expect(couldCollide("acme", "acmeweb")).toBe(false);
    expect(couldCollide("acme", "other-hello")).toBe(false);
  });
});

describe("registry credentials for pulls", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("sysconfig-auth-"));
    await mkdir(path.join(dir, "docker"));
    await writeFile(
      path.join(dir, "docker", "config.json"),
      JSON.stringify({
        auths: { "https://127.0.0.1:5001/v1/": { auth: Buffer.from("alice:pw1").toString("base64") } },
      }),
    );
    await writeFile(path.join(dir, "password"), "pw2\n");
  });
  afterAll(() => cleanup());

  it("finds the registry of an image reference", () => {
    expect(registryOf("127.0.0.1:5001/acme/web:1-develop")).toBe("127.0.0.1:5001");
    expect(registryOf("acme/web:1")).toBe("docker.io");
    expect(registryOf("busybox")).toBe("docker.io");
  });

  it("reads the Docker config file's auths entry for the image's registry", async () => {
    const env = { DOCKER_CONFIG: path.join(dir, "docker") };
    expect(await registryAuthFor("127.0.0.1:5001/acme/web:1-x", env)).toEqual({
      username: "alice",
      password: "pw1",
      serveraddress: "127.0.0.1:5001",
    });
    expect(await registryAuthFor("127.0.0.1:5000/acme/web:1-x", env)).toBeUndefined();
  });

  it("prefers SYSCONFIG_REGISTRY_USERNAME + SYSCONFIG_REGISTRY_PASSWORD_FILE, as sysconfig build does", async () => {
    const env = {
      DOCKER_CONFIG: path.join(dir, "docker"),
      SYSCONFIG_REGISTRY: "127.0.0.1:5001",
      SYSCONFIG_REGISTRY_USERNAME: "bob",
      SYSCONFIG_REGISTRY_PASSWORD_FILE: path.join(dir, "password"),
    };
    expect(await registryAuthFor("127.0.0.1:5001/acme/web:1-x", env)).toMatchObject({
      username: "bob",
      password: "pw2",
    });
  });

  it("refuses half-set environment credentials (exit 3)", async () => {
    await expect(registryAuthFor("x/y:1", { SYSCONFIG_REGISTRY_USERNAME: "bob" })).rejects.toThrow(
      /missing: SYSCONFIG_REGISTRY \(host\[:port\].*SYSCONFIG_REGISTRY_PASSWORD_FILE/,
    );
  });
});
