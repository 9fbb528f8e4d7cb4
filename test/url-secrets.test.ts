// A password written inside a URL (postgres://app:PASSWORD@db/app) is a secret whatever the variable's
// name: masked in plan text and JSON, render --check and bump diffs, config errors, the docker spec
// label and fleet unit diffs, through the built CLI against the real engine and the fleet test server.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { maskSecrets, maskUnitSecrets, maskYamlSecrets } from "../reconciler/text/mask.js";
import { maskUrlUserinfo } from "../reconciler/text/url-userinfo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { runCli } from "./helpers/cli.js";
import { writeConfigRepo } from "./helpers/config-repo.js";
import { git } from "./helpers/config-repos.js";
import { commitConfig, docker, removeSystem, uniqueSystem } from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const PASSWORD = "hunter2pw";
const NEW_PASSWORD = "hunter3pw";

describe("maskUrlUserinfo", () => {
  it("masks the password of any URL, including one holding '@', and an http(s) token", () => {
    expect(maskUrlUserinfo("postgres://app:hunter2pw@db/app")).toBe("postgres://app:***@db/app");
    expect(maskUrlUserinfo('URL: "mysql://root:p@ss@10.0.0.1:3306/x?a=1"')).toBe(
      'URL: "mysql://root:***@10.0.0.1:3306/x?a=1"',
    );
    expect(maskUrlUserinfo("redis://:s3cret@cache")).toBe("redis://:***@cache");
    expect(maskUrlUserinfo("see https://ghp_token@github.com/x")).toBe("see https://***@github.com/x");
  });

  it("leaves URLs without a secret alone and is idempotent", () => {
    for (const text of ["ssh://git@host/x.git", "https://host/x", "mailto:a@b", "amqp://u:***@h"]) {
      expect(maskUrlUserinfo(text)).toBe(text);
    }
  });

  it("is applied by every masker, whatever the variable is called", () => {
    const unit = "[Service]\nEnvironment=DATABASE_URL=postgres://app:hunter2pw@db/app\n";
    expect(maskUnitSecrets(unit)).toBe("[Service]\nEnvironment=DATABASE_URL=postgres://app:***@db/app\n");
    const yaml = 'env:\n  "DATABASE_URL": "postgres://app:hunter2pw@db/app"\n';
    expect(maskYamlSecrets(yaml)).toBe('env:\n  "DATABASE_URL": "postgres://app:***@db/app"\n');
    expect(maskSecrets(`- name: UPSTREAM\n  value: amqp://q:${PASSWORD}@mq\n`)).not.toContain(PASSWORD);
  });
});

const IMAGE = "sysconfig-test/url-secrets";

function dockerYaml(system: string, password: string, extra = ""): string {
  return `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main: { target: { kind: docker } }
services:
  web:
    image: ${IMAGE}
    tag: 1-main
    network: none
    command: ["sh", "-c", "while true; do sleep 1; done"]
    env:
      DATABASE_URL: postgres://app:${password}@db/app
      GREETING: hello${extra}
`;
}

describe("a URL password on the Docker target (real engine)", () => {
  const system = uniqueSystem("urlpw");
  let dir: string;
  let cleanup: () => Promise<void>;
  const cli = (...args: string[]) => runCli([...args, "--repo", dir]);

  beforeAll(async () => {
    await docker.getImage("sysconfig-base/busybox:latest").tag({ repo: IMAGE, tag: "1-main" });
    ({ dir, cleanup } = await tempDir("sysconfig-url-secrets-"));
    await commitConfig(dir, dockerYaml(system, PASSWORD), "first");
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("never prints it in the plan, the reconcile report or the container's spec label", async () => {
    const plan = await cli("plan");
    expect(plan.code).toBe(0);
    const applied = await cli("reconcile", "--timeout", "30");
    expect(applied.code).toBe(0);
    expect(plan.stdout + plan.stderr + applied.stdout + applied.stderr).not.toContain(PASSWORD);

    const [live] = await docker.listContainers({ all: true, filters: { name: [`${system}-web`] } });
    expect(live?.Labels["io.sysconfig.spec"]).toContain("postgres://app:***@db/app");
    expect(JSON.stringify(live?.Labels)).not.toContain(PASSWORD);
  }, 90_000);

  it("shows a changed password as an update without printing either value, in text and JSON", async () => {
    await commitConfig(dir, dockerYaml(system, NEW_PASSWORD, " again"), "new password");
    const text = await cli("plan");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^~ update docker:container\/.*-web$/m);
    expect(text.stdout).toContain("postgres://app:***@db/app");
    const json = await cli("plan", "--output", "json");
    expect(json.code).toBe(0);
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain("postgres://app:***@db/app");
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(NEW_PASSWORD);
    }
  }, 60_000);

  it("masks it in render --check's diff and in validate's errors", async () => {
    await writeFile(path.join(dir, "sysconfig.yaml"), dockerYaml(system, "s3cr3t-other"));
    const check = await cli("render", "--check", "--environment", "main");
    expect(check.code).toBe(3);
    expect(check.stdout + check.stderr).toContain("postgres://app:***@db/app");
    expect(check.stdout + check.stderr).not.toMatch(/s3cr3t-other|hunter3pw/);

    await writeFile(
      path.join(dir, "sysconfig.yaml"),
      `${dockerYaml(system, PASSWORD)}    ports: postgres://app:${PASSWORD}@db/app\n`,
    );
    const invalid = await cli("validate");
    expect(invalid.code).toBe(3);
    expect(invalid.stderr).toContain("services.web.ports");
    expect(invalid.stderr).not.toContain(PASSWORD);
    git(["checkout", "--", "sysconfig.yaml"], dir);
  });
});

describe("a URL password a failing container prints (real engine)", () => {
  const system = uniqueSystem("urlleak");
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await docker.getImage("sysconfig-base/busybox:latest").tag({ repo: IMAGE, tag: "1-main" });
    ({ dir, cleanup } = await tempDir("sysconfig-url-leak-"));
    await commitConfig(
      dir,
      `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main: { target: { kind: docker } }
services:
  leaky:
    image: ${IMAGE}
    tag: 1-main
    network: none
    restart: "no"
    command: ["sh", "-c", 'echo "connecting to $DATABASE_URL with \${DATABASE_URL#postgres://app:}"; exit 3']
    env:
      DATABASE_URL: postgres://app:${PASSWORD}@db/app
`,
      "leaky",
    );
  });
  afterAll(async () => {
    await removeSystem(system);
    await cleanup();
  });

  it("is masked in the unhealthy reason, in the URL and on its own", async () => {
    const applied = await runCli(["reconcile", "--repo", dir, "--timeout", "20"]);
    expect(applied.code).toBe(1);
    expect(applied.stdout + applied.stderr).toMatch(
      /connecting to postgres:\/\/app:<secret hmac:[0-9a-f]{8}>@db\/app with <secret hmac:/,
    );
    expect(applied.stdout + applied.stderr).not.toContain(PASSWORD);
  }, 60_000);
});

describe("a URL password in bump's diff and on the fleet target", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fleet: FakeFleetServer;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("sysconfig-url-secrets-fleet-"));
    fleet = await startFleetServer({ transitionMs: 0 });
    await writeConfigRepo(
      dir,
      "urlfleet",
      { web: { env: { DATABASE_URL: `postgres://app:${PASSWORD}@db/app` } } },
      "staging",
    );
    git(["init", "--quiet", "--initial-branch", "staging"], dir);
    git(["add", "-A"], dir);
    git(["commit", "--quiet", "-m", "first"], dir);
  });
  afterAll(async () => {
    await fleet.close();
    await cleanup();
  });

  it("bump --dry-run prints the rendered unit's diff with the password masked", async () => {
    const bump = await runCli(["bump", "web", "2-staging", "--repo", dir, "--dry-run"]);
    expect(bump.code).toBe(0);
    expect(bump.stdout).toContain("postgres://app:***@db/app");
    expect(bump.stdout + bump.stderr).not.toContain(PASSWORD);
  });

  it("an update that changes only the password says so without printing either value", async () => {
    const run = (...args: string[]) =>
      runCli([...args, "--repo", dir, "--environment", "staging", "--endpoint", fleet.endpoint]);
    expect((await run("reconcile", "--timeout", "20")).code).toBe(0);
    await writeConfigRepo(
      dir,
      "urlfleet",
      { web: { env: { DATABASE_URL: `postgres://app:${NEW_PASSWORD}@db/app` } } },
      "staging",
    );
    const plan = await run("plan");
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^~ update fleet:web\.service$/m);
    // Both sides mask to the same text: the plan says why the update shows no diff line.
    expect(plan.stdout).toContain(
      "note: changed only in masked values (a secret or a password inside a URL)",
    );
    expect(plan.stdout + plan.stderr).not.toMatch(/hunter[23]pw/);
    const rendered = await readFile(path.join(dir, "rendered/web.service"), "utf8");
    expect(rendered).toContain(NEW_PASSWORD); // the unit itself keeps the value: only what is printed is masked
  });
});
