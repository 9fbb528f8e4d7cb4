// Secrets never reach printed text: fingerprints are keyed per process (no brute-forcing a short secret
// from a plan), config errors, engine warnings and container output are masked, and the docker target's
// live side shows "changed"/"unchanged" without storing a printable hash on the container.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { applyChanges } from "../reconciler/apply/engine.js";
import { dependencyLevels } from "../reconciler/apply/order.js";
import { parseConfig } from "../reconciler/config/load.js";
import { serviceSchema } from "../reconciler/config/schema.js";
import { diffObjects } from "../reconciler/diff/diff.js";
import type { DesiredState } from "../reconciler/model.js";
import { maskSecrets, maskValue, redactValues } from "../reconciler/text/mask.js";
import { renderAll } from "../reconciler/render/render.js";
import type { Reporter } from "../reconciler/report/reporter.js";
import { createDockerTarget } from "../reconciler/targets/docker/target.js";
import { waitContainerHealthy } from "../reconciler/targets/docker/wait.js";
import { ROOT } from "./helpers/cli.js";
import { docker, removeSystem, uniqueSystem } from "./helpers/docker-fixtures.js";
import { MemoryTarget } from "./fakes/memory-target.js";

function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    debug: (m) => lines.push(m),
  };
}

describe("secret fingerprints", () => {
  it("are not an unkeyed hash: the printed mask of a short secret is not its sha256", () => {
    const sha = createHash("sha256").update("hunter2").digest("hex").slice(0, 8);
    expect(maskValue("hunter2")).toMatch(/^<secret hmac:[0-9a-f]{8}>$/);
    expect(maskValue("hunter2")).not.toContain(sha);
    expect(maskValue("hunter2")).toBe(maskValue("hunter2"));
    expect(maskValue("hunter2")).not.toBe(maskValue("hunter3"));
  });

  it("differ between two processes for the same secret", () => {
    const run = () =>
      spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { maskValue } from "${ROOT}/dist/reconciler/text/mask.js"; process.stdout.write(maskValue("hunter2"));`,
        ],
        { encoding: "utf8" },
      ).stdout;
    const first = run();
    expect(first).toMatch(/^<secret hmac:[0-9a-f]{8}>$/);
    expect(run()).not.toBe(first);
  });

  it("leave masks of older versions alone and redact known values in free text", () => {
    expect(maskSecrets("Environment=DB_PASSWORD=<secret sha256:1a2b3c4d>\n")).toBe(
      "Environment=DB_PASSWORD=<secret sha256:1a2b3c4d>\n",
    );
    const text = redactValues("connect failed for s3cr3t-value@db (s3cr3t-value)", ["s3cr3t-value", "ab"]);
    expect(text).not.toContain("s3cr3t-value");
    expect(text).toContain(maskValue("s3cr3t-value"));
  });
});

describe("config errors", () => {
  const config = (env: string) => `name: acme
image: 127.0.0.1:5000/acme/sysconfig
environments:
  develop: { target: { kind: docker } }
services:
  web:
    image: 127.0.0.1:5000/acme/web
    tag: 1-develop
    env: ${env}
`;

  it("do not echo a secret-looking value of the wrong type", () => {
    const { issues } = parseConfig(config("{ DB_PASSWORD: 987654321 }"));
    expect(issues?.join("\n")).toContain("services.web.env.DB_PASSWORD");
    expect(issues?.join("\n")).not.toContain("987654321");
    expect(issues?.join("\n")).toMatch(/got "<secret hmac:[0-9a-f]{8}>"/);
  });

  it("mask secrets inside a whole value they echo", () => {
    const { issues } = parseConfig(config('["DB_PASSWORD=hunter2", "GREETING=hi"]'));
    const text = issues?.join("\n") ?? "";
    expect(text).toContain("services.web.env");
    expect(text).not.toContain("hunter2");
    expect(text).toContain("GREETING=hi");
  });

  it("still show ordinary values, so the error says what was wrong", () => {
    const { issues } = parseConfig(config("{ GREETING: 42 }"));
    expect(issues?.join("\n")).toContain("got 42");
  });
});

describe("apply warnings", () => {
  it("mask NAME=value secrets in a target's failure and unhealthy reasons", async () => {
    const target = new MemoryTarget();
    const reporter = recorder();
    target.failApply.set("docker:web", "engine said: invalid env DB_PASSWORD=hunter2");
    target.unhealthy.set("docker:api", "exited: API_TOKEN=tok-123456 rejected");
    const desired: DesiredState = {
      system: "acme",
      environment: "develop",
      revision: "r",
      target: { kind: "docker" },
      services: {
        web: serviceSchema.parse({ image: "127.0.0.1:5000/acme/web", tag: "1-develop" }),
        api: serviceSchema.parse({ image: "127.0.0.1:5000/acme/api", tag: "1-develop" }),
      },
      files: [
        { service: "web", path: "rendered/web.yaml", content: "web\n" },
        { service: "api", path: "rendered/api.yaml", content: "api\n" },
      ],
    };
    const changes = diffObjects(target.desiredObjects(desired), await target.readActual("acme"));
    await applyChanges(target, changes, {
      system: "acme",
      revision: "r",
      reporter,
      levels: dependencyLevels(desired.services),
      parallelism: 2,
      wait: true,
      timeoutMs: 5000,
    });
    const printed = reporter.lines.join("\n");
    expect(printed).toContain(
      "failed: docker:web create failed: engine said: invalid env DB_PASSWORD=<secret",
    );
    expect(printed).toContain("unhealthy: exited: API_TOKEN=<secret");
    expect(printed).not.toMatch(/hunter2|tok-123456/);
  });
});

describe("docker target (real engine)", () => {
  const IMAGE = "sysconfig-test/mask";
  const system = uniqueSystem("mask");
  const created: string[] = [];

  beforeAll(async () => {
    await docker.getImage("sysconfig-base/busybox:latest").tag({ repo: IMAGE, tag: "1-main" });
  });

  afterAll(async () => {
    await removeSystem(system);
    for (const id of created) {
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  async function stateOf(env: string): Promise<DesiredState> {
    const { config, issues } = parseConfig(`name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main: { target: { kind: docker } }
services:
  web:
    image: ${IMAGE}
    tag: 1-main
    network: none
    command: ["sh", "-c", "while true; do sleep 1; done"]
    env: ${env}
`);
    if (!config) throw new Error(issues.join("\n"));
    return {
      system,
      environment: "main",
      revision: "r1",
      target: { kind: "docker" },
      services: config.services,
      files: await renderAll(ROOT, config, "main"),
    };
  }

  it("shows an unchanged secret with the desired side's fingerprint and a changed one with another", async () => {
    const first = createDockerTarget(
      { kind: "docker" },
      { env: {}, environment: "main", reporter: recorder(), wait: { settleMs: 200 } },
    );
    const v1 = await stateOf("{ API_TOKEN: tok-one, DB_PASSWORD: pw-same, GREETING: hi }");
    const changes = diffObjects(first.desiredObjects(v1), await first.readActual(system));
    for (const change of changes) {
      await first.apply(change, {
        system,
        revision: "r1",
        reporter: recorder(),
        deadline: Date.now() + 30_000,
      });
    }
    const [live] = await docker.listContainers({ all: true, filters: { name: [`${system}-web`] } });
    expect(live?.Labels["io.sysconfig.spec"]).toMatch(/API_TOKEN: "?<secret>"?\n/);
    expect(JSON.stringify(live?.Labels)).not.toMatch(/tok-one|pw-same|sha256:/);

    // The next run is another process in real life: a fresh target reads the live side anew.
    const second = createDockerTarget(
      { kind: "docker" },
      { env: {}, environment: "main", reporter: recorder() },
    );
    const v2 = await stateOf("{ API_TOKEN: tok-two, DB_PASSWORD: pw-same, GREETING: hi }");
    const [desired] = second.desiredObjects(v2);
    const [actual] = await second.readActual(system);
    const line = (text: string | undefined, name: string) =>
      (text ?? "").split("\n").find((l) => l.trimStart().startsWith(`${name}:`));
    expect(line(actual?.text, "DB_PASSWORD")).toBe(line(desired?.text, "DB_PASSWORD"));
    expect(line(actual?.text, "API_TOKEN")).not.toBe(line(desired?.text, "API_TOKEN"));
    expect(line(actual?.text, "API_TOKEN")).toMatch(/<secret hmac:[0-9a-f]{8}>/);
    expect(line(actual?.text, "GREETING")).toBe(line(desired?.text, "GREETING"));
    expect(actual?.text).not.toMatch(/tok-one|pw-same/);
  }, 60_000);

  it("drops the unkeyed hashes an older version wrote into the spec label", async () => {
    const container = await docker.createContainer({
      name: `${system}-old`,
      Image: `${IMAGE}:1-main`,
      Cmd: ["true"],
      HostConfig: { NetworkMode: "none" },
      Labels: {
        "io.sysconfig.system": system,
        "io.sysconfig.environment": "main",
        "io.sysconfig.service": "old",
        "io.sysconfig.hash": "0".repeat(64),
        "io.sysconfig.name": `${system}-old`,
        "io.sysconfig.role": "service",
        "io.sysconfig.spec": `name: ${system}-old\nenv:\n  DB_PASSWORD: <secret sha256:1a2b3c4d>\nrestart: "no"\n`,
      },
    });
    created.push(container.id);
    const target = createDockerTarget(
      { kind: "docker" },
      { env: {}, environment: "main", reporter: recorder() },
    );
    const old = (await target.readActual(system)).find((o) => o.name === `${system}-old`);
    expect(old?.text).toContain("DB_PASSWORD: <secret>");
    expect(old?.text).not.toContain("1a2b3c4d");
  });

  it("masks secret values a failing container prints, in the unhealthy reason", async () => {
    const container = await docker.createContainer({
      name: `${system}-leaky`,
      Image: `${IMAGE}:1-main`,
      Env: ["DB_PASSWORD=very-secret-pw", "GREETING=hello"],
      Cmd: ["sh", "-c", 'echo "connecting with $DB_PASSWORD as $GREETING"; exit 3'],
      HostConfig: { NetworkMode: "none" },
    });
    created.push(container.id);
    await container.start();
    const health = await waitContainerHealthy(docker, container.id, {
      deadline: Date.now() + 20_000,
      settleMs: 2_000,
      pollMs: 100,
    });
    expect(health.healthy).toBe(false);
    const reason = health.healthy ? "" : health.reason;
    expect(reason).toContain("exited with code 3");
    expect(reason).toContain("as hello");
    expect(reason).not.toContain("very-secret-pw");
    expect(reason).toContain("<secret hmac:");
  }, 30_000);
});
