// Encrypted secrets on fleet (the test fleetd): the value reaches the unit only on an Environment= line that
// `docker run -e NAME` reads — never on ExecStart —, the marker records fingerprints, plan without the identity
// reads the live unit back as references (unchanged after apply, changed (encrypted) after a new ciphertext).
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { runCli } from "./helpers/cli.js";
import { commitConfig } from "./helpers/docker-fixtures.js";
import { secretsYaml } from "./helpers/secret-config.js";
import { keygen } from "./helpers/secret-repos.js";
import { tempDir } from "./helpers/tmp.js";

jest.setTimeout(300_000);

let root: string;
let cleanup: () => Promise<void>;
let fleet: FakeFleetServer;
let key: { file: string; recipient: string };
const repo = () => path.join(root, "repo");

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-secrets-fleet-"));
  fleet = await startFleetServer({ transitionMs: 0 });
  key = await keygen(path.join(root, "staging.key"));
  await mkdir(repo());
});
afterAll(async () => {
  await fleet.close();
  await cleanup();
});

function configYaml(values: Record<string, string>): string {
  return `name: fsec
image: 127.0.0.1:5000/fsec/sysconfig
environments:
  staging:
    target: { kind: fleet }
    secrets:
      recipients: [${key.recipient}]
services:
  hello:
    image: 127.0.0.1:5000/fsec/hello
    tag: 1-staging
    env: { GREETING: hi }
${secretsYaml("staging", key.recipient, values)}`;
}

const run = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  runCli([...args, "--repo", repo(), "--environment", "staging", "--endpoint", fleet.endpoint], { env });

function unitText(): string {
  const unit = fleet.units.get("hello.service");
  return (unit?.options ?? []).map((o) => `[${o.section}] ${o.name}=${o.value}`).join("\n");
}

describe("encrypted secrets on the fleet target", () => {
  it("puts the value on its own Environment= line, passes it as -e NAME, and marks the fingerprint", async () => {
    await commitConfig(repo(), configYaml({ API_TOKEN: 'fleet "tok" 100%' }), "secrets", "staging");
    const missing = await run({ SYSCONFIG_IDENTITY_FILE: "" }, "reconcile", "--timeout", "20");
    expect(missing.code).toBe(3);
    expect(fleet.units.size).toBe(0);

    const applied = await run({ SYSCONFIG_IDENTITY_FILE: key.file }, "reconcile", "--timeout", "20");
    expect(`${applied.code} ${applied.code === 0 ? "" : applied.stderr}`).toBe("0 ");
    const text = unitText();
    expect(text).toContain('[Service] Environment="API_TOKEN=fleet \\"tok\\" 100%%"');
    expect(text).toMatch(/\[Service\] ExecStart=.* -e API_TOKEN -e GREETING=hi /);
    expect(text.split("\n").filter((l) => l.includes("tok"))).toHaveLength(1);
    expect(text).toMatch(/\[X-Sysconfig\] Secrets=API_TOKEN=age:[0-9a-f]{16}/);
    expect(applied.stdout + applied.stderr).not.toContain("tok");
  });

  it("plan without the identity: unchanged after apply, changed (encrypted) after a new ciphertext, never the value", async () => {
    const same = await run({ SYSCONFIG_IDENTITY_FILE: "" }, "plan", "--exit-code");
    expect(`${same.code} ${same.code === 0 ? "" : same.stdout}`).toBe("0 ");
    await commitConfig(repo(), configYaml({ API_TOKEN: "fleet-new-value" }), "rotate", "staging");
    const changed = await run({ SYSCONFIG_IDENTITY_FILE: "" }, "plan", "--exit-code");
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain("note: secret API_TOKEN: changed (encrypted)");
    expect(changed.stdout).toMatch(/-Environment="API_TOKEN=<secret age:[0-9a-f]{16}>"/);
    expect(changed.stdout).not.toContain("tok");
    const applied = await run({ SYSCONFIG_IDENTITY_FILE: key.file }, "reconcile", "--timeout", "20");
    expect(`${applied.code} ${applied.code === 0 ? "" : applied.stderr}`).toBe("0 ");
    expect(unitText()).toContain('Environment="API_TOKEN=fleet-new-value"');
    const again = await run({ SYSCONFIG_IDENTITY_FILE: "" }, "plan", "--exit-code");
    expect(`${again.code} ${again.code === 0 ? "" : again.stdout}`).toBe("0 ");
  });
});
