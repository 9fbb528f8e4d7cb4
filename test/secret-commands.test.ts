// sysconfig keygen and secret set / list / rm / reencrypt, as real processes against real git remotes: the
// value comes from stdin only, lands encrypted (the age CLI decrypts it), never in plaintext in any commit,
// and a secret set racing bumps lands like a bump.
import { stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { parse } from "yaml";
import { ageCli } from "./helpers/age-cli.js";
import { runCli } from "./helpers/cli.js";
import { bareClone, fileAt, git, tagAt } from "./helpers/config-repos.js";
import { exampleRemote, keygen, removeRecipients, setRecipients } from "./helpers/secret-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;
let seq = 0;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-secret-cmd-"));
});
afterAll(() => cleanup());

const fresh = (name: string) => path.join(root, `${name}-${++seq}`);

interface Sealed {
  recipients: string[];
  ciphertext: string;
}
function sealedAt(remote: string, branch: string, service: string, name: string): Sealed | undefined {
  const config = parse(fileAt(remote, branch, "sysconfig.yaml")) as {
    services: Record<string, { secrets?: Record<string, Record<string, Sealed>> }>;
  };
  return config.services[service]?.secrets?.[name]?.[branch];
}

describe("sysconfig keygen", () => {
  it("writes the identity 0600, prints its recipient, and never overwrites a file", async () => {
    const file = path.join(fresh("keygen"), "..", `k-${seq}.key`);
    const key = await keygen(file);
    expect(key.recipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(ageCli("age-keygen", ["-y", file]).trim()).toBe(key.recipient);
    const again = await runCli(["keygen", file]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain("the file exists");
  });
});

describe("sysconfig secret set", () => {
  it("encrypts stdin to the environment's recipients, commits and pushes; the age CLI decrypts it and no commit holds the value", async () => {
    const dir = fresh("set");
    const key = await keygen(path.join(root, `set-${seq}.key`));
    const { remote } = await exampleRemote(dir, "develop", [key.recipient]);
    const value = "correct horse battery staple";
    const result = await runCli(
      [
        "secret",
        "set",
        "hello",
        "API_TOKEN",
        "--repo",
        remote,
        "--environment",
        "develop",
        "--output",
        "json",
      ],
      { input: `${value}\n` },
    );
    expect(`${result.code} ${result.code === 0 ? "" : result.stderr}`).toBe("0 ");
    const reported = JSON.parse(result.stdout) as {
      pushed: boolean;
      fingerprints: string[];
      recipients: string[];
    };
    expect(reported.pushed).toBe(true);
    expect(reported.recipients).toEqual([key.recipient]);
    const sealed = sealedAt(remote, "develop", "hello", "API_TOKEN");
    expect(sealed?.recipients).toEqual([key.recipient]);
    expect(ageCli("age", ["-d", "-i", key.file], sealed?.ciphertext ?? "")).toBe(value);
    // rendered/ holds the reference (the ciphertext's fingerprint), the message names the secret.
    expect(fileAt(remote, "develop", "rendered/hello.yaml")).toContain(
      `"API_TOKEN": "<secret ${reported.fingerprints[0]}>"`,
    );
    expect(git(["log", "-1", "--format=%s", "develop"], remote).trim()).toBe(
      "Setting secret hello/API_TOKEN on develop",
    );
    // No commit, no branch, no object holds the plaintext.
    expect(git(["log", "--all", "-p"], remote)).not.toContain("horse battery");
    expect(result.stdout + result.stderr).not.toContain("horse battery");
  });

  it("refuses an environment without recipients (exit 3) and changes nothing", async () => {
    const dir = fresh("norecipients");
    const key = await keygen(path.join(root, `nr-${seq}.key`));
    const { work } = await exampleRemote(dir, "develop", [key.recipient]);
    // The example gives every environment recipients: master's go, so master has none.
    git(["switch", "--quiet", "master"], work);
    await removeRecipients(work, "master");
    git(["commit", "--quiet", "-am", "master without recipients"], work);
    const remote = bareClone(work, path.join(dir, "norecipients.git"));
    const before = git(["rev-parse", "master"], remote);
    const result = await runCli(
      ["secret", "set", "hello", "API_TOKEN", "--repo", remote, "--environment", "master"],
      {
        input: "v4lue",
      },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("environments.master.secrets.recipients");
    expect(git(["rev-parse", "master"], remote)).toBe(before);
  });

  it("refuses an empty stdin and a name that is not a variable name (exit 3)", async () => {
    const dir = fresh("badinput");
    const key = await keygen(path.join(root, `bi-${seq}.key`));
    const { remote } = await exampleRemote(dir, "develop", [key.recipient]);
    const empty = await runCli([
      "secret",
      "set",
      "hello",
      "API_TOKEN",
      "--repo",
      remote,
      "--environment",
      "develop",
    ]);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain("no value on stdin");
    const badName = await runCli(
      ["secret", "set", "hello", "API-TOKEN", "--repo", remote, "--environment", "develop"],
      {
        input: "x",
      },
    );
    expect(badName.code).toBe(3);
  });

  it("a secret set racing three bumps: all of them land", async () => {
    const dir = fresh("race");
    const key = await keygen(path.join(root, `race-${seq}.key`));
    const { remote } = await exampleRemote(dir, "develop", [key.recipient]);
    const tmp = { TMPDIR: dir };
    const results = await Promise.all([
      runCli(["secret", "set", "hello", "API_TOKEN", "--repo", remote, "--environment", "develop"], {
        input: "racing-value",
        env: tmp,
      }),
      runCli(["bump", "hello", "7-develop", "--repo", remote], { env: tmp }),
      runCli(["bump", "worker", "8-develop", "--repo", remote], { env: tmp }),
      runCli(["secret", "set", "worker", "QUEUE_PASSWORD", "--repo", remote, "--environment", "develop"], {
        input: "second-racing-value",
        env: tmp,
      }),
    ]);
    expect(results.map((r) => `${r.code} ${r.code === 0 ? "" : r.stderr}`)).toEqual(["0 ", "0 ", "0 ", "0 "]);
    expect(tagAt(remote, "develop", "hello")).toBe("7-develop");
    expect(tagAt(remote, "develop", "worker")).toBe("8-develop");
    const hello = sealedAt(remote, "develop", "hello", "API_TOKEN");
    const worker = sealedAt(remote, "develop", "worker", "QUEUE_PASSWORD");
    expect(ageCli("age", ["-d", "-i", key.file], hello?.ciphertext ?? "")).toBe("racing-value");
    expect(ageCli("age", ["-d", "-i", key.file], worker?.ciphertext ?? "")).toBe("second-racing-value");
    const rendered = fileAt(remote, "develop", "rendered/hello.yaml");
    expect(rendered).toContain("hello:7-develop");
    expect(rendered).toMatch(/"API_TOKEN": "<secret age:[0-9a-f]{16}>"/);
  });
});

describe("sysconfig secret list, rm and reencrypt", () => {
  it("lists fingerprints and recipients only, removes one, and re-encrypts to new recipients with the old identity", async () => {
    const dir = fresh("lifecycle");
    const oldKey = await keygen(path.join(root, `old-${seq}.key`));
    const newKey = await keygen(path.join(root, `new-${seq}.key`));
    const { remote } = await exampleRemote(dir, "develop", [oldKey.recipient]);
    for (const [service, name, value] of [
      ["hello", "API_TOKEN", "first-value"],
      ["worker", "DB_PASSWORD", "second-value"],
    ] as const) {
      const set = await runCli(
        ["secret", "set", service, name, "--repo", remote, "--environment", "develop"],
        {
          input: value,
        },
      );
      expect(set.code).toBe(0);
    }
    const checkout = path.join(dir, "checkout");
    git(["clone", "--quiet", "--branch", "develop", "--", remote, checkout]);
    const list = await runCli(["secret", "list", "--repo", checkout, "--output", "json"]);
    expect(list.code).toBe(0);
    const rows = (
      JSON.parse(list.stdout) as {
        secrets: {
          service: string;
          name: string;
          environment: string;
          fingerprint: string;
          stale: boolean;
        }[];
      }
    ).secrets;
    // develop's rows (the example also holds hello's API_TOKEN for staging and master)
    const develop = rows.filter((r) => r.environment === "develop");
    expect(develop.map((r) => `${r.service}/${r.name} ${r.stale}`)).toEqual([
      "hello/API_TOKEN false",
      "worker/DB_PASSWORD false",
    ]);
    expect(list.stdout).not.toContain("first-value");

    // New recipients: list marks both stale; reencrypt (in the local checkout) makes the new key decrypt them.
    await setRecipients(checkout, "develop", [newKey.recipient]);
    git(["commit", "--quiet", "-am", "rotate develop's recipient"], checkout);
    git(["push", "--quiet"], checkout);
    const stale = await runCli(["secret", "list", "--repo", checkout]);
    expect(stale.stdout).toContain("stale");
    const re = await runCli(["secret", "reencrypt", "--repo", checkout, "--identity-file", oldKey.file]);
    expect(re.stderr + re.stdout).not.toContain("second-value");
    expect(`${re.code} ${re.code === 0 ? "" : re.stderr}`).toBe("0 ");
    const sealed = sealedAt(remote, "develop", "worker", "DB_PASSWORD");
    expect(sealed?.recipients).toEqual([newKey.recipient]);
    expect(ageCli("age", ["-d", "-i", newKey.file], sealed?.ciphertext ?? "")).toBe("second-value");

    // A wrong identity: exit 3 naming the secrets and their recipients, nothing pushed.
    await setRecipients(checkout, "develop", [oldKey.recipient]);
    git(["commit", "--quiet", "-am", "back to the old recipient"], checkout);
    git(["push", "--quiet"], checkout);
    const head = git(["rev-parse", "HEAD"], checkout);
    const wrong = await runCli(["secret", "reencrypt", "--repo", checkout, "--identity-file", oldKey.file]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain(`hello/API_TOKEN (encrypted to ${newKey.recipient})`);
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(head);

    const rm = await runCli([
      "secret",
      "rm",
      "hello",
      "API_TOKEN",
      "--repo",
      remote,
      "--environment",
      "develop",
    ]);
    expect(rm.code).toBe(0);
    expect(sealedAt(remote, "develop", "hello", "API_TOKEN")).toBeUndefined();
    expect(fileAt(remote, "develop", "rendered/hello.yaml")).not.toContain("API_TOKEN");
    // The name stays while other environments hold a value (the example's staging and master ones).
    const after = parse(fileAt(remote, "develop", "sysconfig.yaml")) as {
      services: { hello: { secrets: { API_TOKEN: Record<string, unknown> } } };
    };
    expect(Object.keys(after.services.hello.secrets.API_TOKEN).sort()).toEqual(["master", "staging"]);
  });

  it("validate names a bad recipient (exit 3)", async () => {
    const dir = fresh("badrecipient");
    const key = await keygen(path.join(root, `br-${seq}.key`));
    const { work } = await exampleRemote(dir, "develop", [key.recipient]);
    const bad = `${key.recipient.slice(0, -1)}${key.recipient.endsWith("q") ? "p" : "q"}`;
    await setRecipients(work, "develop", [key.recipient, bad]);
    const result = await runCli(["validate", "--repo", work]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("environments.develop.secrets.recipients.1");
    expect(result.stderr).toContain(bad);
  });
});
