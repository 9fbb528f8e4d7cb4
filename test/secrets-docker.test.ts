// Encrypted secrets on a real Docker engine: the container reads the decrypted value from its env, the
// labels hold only ciphertext fingerprints, plan without the identity tells changed from unchanged, a
// missing or wrong identity is exit 3 with nothing applied, and no output shows a decrypted value.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { runCli } from "./helpers/cli.js";
import {
  commitConfig,
  containersOf,
  docker,
  nameOf,
  removeSystem,
  uniqueSystem,
} from "./helpers/docker-fixtures.js";
import { keygen } from "./helpers/secret-repos.js";
import { secretsYaml } from "./helpers/secret-config.js";
import { tempDir } from "./helpers/tmp.js";

// Each step runs the CLI against the engine; a shared, busy machine makes single steps take minutes.
jest.setTimeout(400_000);

const system = uniqueSystem("sec");
const IMAGE = `sysconfig-test/${system}`;
let root: string;
let cleanup: () => Promise<void>;
let key: { file: string; recipient: string };
let other: { file: string; recipient: string };

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-secrets-docker-"));
  await docker.getImage("sysconfig-base/busybox:latest").tag({ repo: IMAGE, tag: "1-main" });
  key = await keygen(path.join(root, "main.key"));
  other = await keygen(path.join(root, "other.key"));
});
afterAll(async () => {
  await removeSystem(system);
  await docker
    .getImage(`${IMAGE}:1-main`)
    .remove()
    .catch(() => undefined);
  await cleanup();
});

function configYaml(
  values: Record<string, string>,
  command = "echo token=$API_TOKEN note=$GREETING_NOTE; sleep 3600",
): string {
  return `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main:
    target: { kind: docker }
    secrets:
      recipients: [${key.recipient}]
services:
  app:
    image: ${IMAGE}
    tag: 1-main
    network: none
    command: ["sh", "-c", ${JSON.stringify(command)}]
    env: { PLAIN: visible }
${secretsYaml("main", key.recipient, values)}`;
}

const reconcile = (repo: string, env: NodeJS.ProcessEnv, ...args: string[]) =>
  runCli(["reconcile", "--repo", repo, "--target", "docker", "--timeout", "30", ...args], { env });
const plan = (repo: string, ...args: string[]) =>
  runCli(["plan", "--repo", repo, "--target", "docker", ...args], { env: { SYSCONFIG_IDENTITY_FILE: "" } });

async function logsOf(id: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const buffer = await docker.getContainer(id).logs({ stdout: true, stderr: true });
    const text = buffer.toString("utf8");
    if (text.includes("token=")) return text;
    await new Promise((r) => setTimeout(r, 200));
  }
  return "";
}

describe("encrypted secrets on the docker target", () => {
  const repo = () => path.join(root, "repo");

  it("a missing identity is exit 3 naming the secrets and their recipients; nothing is created", async () => {
    await mkdir(repo());
    await commitConfig(
      repo(),
      configYaml({ API_TOKEN: "tok-0123456789", GREETING_NOTE: "note-abcdef" }),
      "secrets",
    );
    const result = await reconcile(repo(), { SYSCONFIG_IDENTITY_FILE: "" });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`app/API_TOKEN (main, encrypted to ${key.recipient})`);
    expect(result.stderr).toContain("app/GREETING_NOTE");
    expect(result.stderr).toContain("--identity-file");
    expect(await containersOf(system)).toEqual([]);
  });

  it("a wrong identity is exit 3 naming its recipient and the secrets; nothing is created", async () => {
    const result = await reconcile(repo(), {}, "--identity-file", other.file);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`recipient ${other.recipient}`);
    expect(result.stderr).toContain(`app/API_TOKEN (main, encrypted to ${key.recipient})`);
    expect(await containersOf(system)).toEqual([]);
  });

  it("reconcile with the identity: the container reads the values, labels hold fingerprints only, output shows neither value", async () => {
    const result = await reconcile(repo(), { SYSCONFIG_IDENTITY_FILE: key.file });
    expect(`${result.code} ${result.code === 0 ? "" : result.stderr}`).toBe("0 ");
    const [container] = (await containersOf(system)).filter((c) => nameOf(c) === `${system}-app`);
    expect(container).toBeDefined();
    const id = container?.Id ?? "";
    expect(await logsOf(id)).toContain("token=tok-0123456789 note=note-abcdef");
    const inspect = await docker.getContainer(id).inspect();
    expect(inspect.Config.Env).toEqual(expect.arrayContaining(["API_TOKEN=tok-0123456789", "PLAIN=visible"]));
    const labels = JSON.stringify(inspect.Config.Labels);
    expect(labels).not.toContain("tok-0123456789");
    expect(labels).not.toContain("note-abcdef");
    expect(labels).toMatch(/API_TOKEN: <secret age:[0-9a-f]{16}>/);
    expect(labels).toMatch(/GREETING_NOTE: <secret age:[0-9a-f]{16}>/);
    expect(result.stdout + result.stderr).not.toContain("tok-0123456789");
    expect(result.stdout + result.stderr).not.toContain("note-abcdef");
  });

  it("plan without any identity: unchanged right after apply, changed (encrypted) after a new ciphertext", async () => {
    const same = await plan(repo(), "--exit-code");
    expect(`${same.code} ${same.code === 0 ? "" : same.stdout + same.stderr}`).toBe("0 ");
    // A new value (a new ciphertext): a new fingerprint, so the plan shows it changed, without decrypting;
    // API_TOKEN keeps its ciphertext and its line.
    await commitConfig(
      repo(),
      configYaml({ API_TOKEN: "tok-0123456789", GREETING_NOTE: "note-changed" }),
      "rotate",
    );
    const changed = await plan(repo(), "--exit-code");
    expect(changed.code).toBe(2);
    expect(changed.stdout).toMatch(/~ update docker:container\/.*-app/);
    expect(changed.stdout).toMatch(
      /-\s+GREETING_NOTE: <secret age:([0-9a-f]{16})>\n\s*\+\s+GREETING_NOTE: <secret age:(?!\1)[0-9a-f]{16}>/,
    );
    expect(changed.stdout).toMatch(/^ {2,}API_TOKEN: <secret age:[0-9a-f]{16}>$/m);
    expect(changed.stdout).toContain("note: secret GREETING_NOTE: changed (encrypted)");
    expect(changed.stdout).not.toContain("secret API_TOKEN: changed");
    expect(changed.stdout).not.toContain("note-changed");
  });

  it("a value whose container prints it on a crash is masked in reconcile's output, whatever its name", async () => {
    await commitConfig(
      repo(),
      configYaml(
        { API_TOKEN: "tok-0123456789", GREETING_NOTE: "crash-value-4242" },
        "echo boom $GREETING_NOTE; exit 1",
      ),
      "crash",
    );
    const result = await reconcile(repo(), { SYSCONFIG_IDENTITY_FILE: key.file }, "--timeout", "15");
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toContain("crash-value-4242");
  });
});
