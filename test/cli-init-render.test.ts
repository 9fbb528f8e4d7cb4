// init, validate, render, --version and --help through the built CLI, on real git repositories.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ROOT, runCli } from "./helpers/cli.js";
import { git, initExample } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let work: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-cli-init-"));
  work = await initExample(root);
});
afterAll(() => cleanup());

/** A throw-away clone of the initialised repo on `branch`. */
function cloneAt(branch: string, name: string): string {
  const dir = path.join(root, name);
  git(["clone", "--quiet", "--branch", branch, "--", work, dir]);
  return dir;
}

describe("sysconfig init", () => {
  it("makes one branch per environment, each retagged and with rendered/ committed and current", async () => {
    expect(git(["branch", "--format=%(refname:short)"], work).split("\n").filter(Boolean).sort()).toEqual([
      "develop",
      "master",
      "staging",
    ]);
    expect(git(["status", "--porcelain"], work)).toBe("");
    expect(git(["rev-parse", "--abbrev-ref", "HEAD"], work)).toBe("develop\n");
    for (const [branch, file] of [
      ["develop", "rendered/hello.yaml"],
      ["staging", "rendered/worker@.service"],
      ["master", "rendered/hello.yaml"],
    ] as const) {
      const dir = cloneAt(branch, `init-${branch}`);
      const check = await runCli(["render", "--check", "--repo", dir]);
      expect({ branch, code: check.code, stdout: check.stdout }).toEqual({ branch, code: 0, stdout: "" });
      expect(await readFile(path.join(dir, file), "utf8")).toContain(`:1-${branch}`);
    }
  });

  it("echoes control characters in the directory's name escaped, on stdout and stderr", async () => {
    const name = "acme\nsysconfig: valid\u001b[2J\u0007";
    const made = await runCli(["init", path.join(root, name)]);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain("acme\\nsysconfig: valid\\e[2J\\u0007");
    const refused = await runCli(["init", path.join(root, name)]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("acme\\nsysconfig: valid\\e[2J\\u0007");
    for (const out of [made.stdout, refused.stderr]) {
      expect(out).not.toMatch(/^sysconfig: valid/m);
      expect(out).not.toMatch(/[^\P{Cc}\n]/u);
    }
  });

  it("says that the example's secrets are encrypted to the demo's keys, and how to replace them", async () => {
    const made = await runCli(["init", path.join(root, "secrets-said")]);
    expect(made.code).toBe(0);
    expect(made.stderr).toContain("the example's secrets (hello API_TOKEN) are encrypted to the demo's keys");
    expect(made.stderr).toContain("sysconfig secret set SERVICE NAME --environment E");
  });

  it("refuses a directory that is not empty (exit 3)", async () => {
    const result = await runCli(["init", work]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("is not empty");
  });
});

describe("sysconfig validate", () => {
  it("accepts the initialised repo", async () => {
    const result = await runCli(["validate", "--repo", work]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("valid: acme, 3 services, environments develop, staging, master");
  });

  it("refuses a broken config with exit 3 and the dotted path of each problem", async () => {
    const dir = cloneAt("develop", "broken");
    const file = path.join(dir, "sysconfig.yaml");
    const text = await readFile(file, "utf8");
    await writeFile(
      file,
      text.replace("tag: 1-develop", "tag: latest").replace("container: 8080", "container: http"),
    );
    const result = await runCli(["validate", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/sysconfig\.yaml: services\.hello\.tag: expected .*got "latest"/);
    expect(result.stderr).toMatch(/services\.hello\.ports\.0\.container: expected a number, got "http"/);
    expect(result.stdout).toBe("");
  });
});

describe("sysconfig render", () => {
  it("--check fails with exit 3 and a diff when rendered/ is stale; render fixes it", async () => {
    const dir = cloneAt("develop", "stale");
    const file = path.join(dir, "rendered/hello.yaml");
    const original = await readFile(file, "utf8");
    await writeFile(file, original.replace("restart: always", "restart: no"));
    const stale = await runCli(["render", "--check", "--repo", dir]);
    expect(stale.code).toBe(3);
    expect(stale.stdout).toContain("-restart: no\n+restart: always");
    expect(stale.stderr).toContain("rendered/ is stale for develop: rendered/hello.yaml");
    expect(await readFile(file, "utf8")).not.toBe(original);

    const fix = await runCli(["render", "--repo", dir]);
    expect(fix.code).toBe(0);
    expect(await readFile(file, "utf8")).toBe(original);
    expect((await runCli(["render", "--check", "--repo", dir])).code).toBe(0);
  });

  it("--check masks secret values on both sides of the stale diff", async () => {
    const dir = cloneAt("staging", "stale-secret");
    const config = path.join(dir, "sysconfig.yaml");
    await writeFile(
      config,
      (await readFile(config, "utf8")).replace(
        "      GREETING: hello from acme\n",
        "      GREETING: hello from acme\n      DB_PASSWORD: fresh-Hunter2-value\n",
      ),
    );
    const unit = path.join(dir, "rendered/hello.service");
    const committed = await readFile(unit, "utf8");
    await writeFile(
      unit,
      committed.replace("[Service]\n", "[Service]\nEnvironment=DB_PASSWORD=stale-Hunter2-value\n"),
    );
    const stale = await runCli(["render", "--check", "--repo", dir]);
    expect(stale.code).toBe(3);
    const output = `${stale.stdout}${stale.stderr}`;
    expect(output).not.toContain("Hunter2");
    expect(stale.stdout).toMatch(/^-Environment=DB_PASSWORD=<secret hmac:[0-9a-f]{8}>$/m);
    expect(stale.stdout).toMatch(/^\+.*DB_PASSWORD=<secret hmac:[0-9a-f]{8}>/m);
  });
});

describe("sysconfig --version and --help", () => {
  it("prints the package version", async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it("shows examples in bump --help", async () => {
    const result = await runCli(["bump", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: sysconfig bump [options] <service> <tag>");
    expect(result.stdout).toContain("Examples:");
    expect(result.stdout).toContain(
      "sysconfig bump web 58-develop --repo git@git.example.com:acme/sysconfig.git",
    );
    expect(result.stdout).toContain("--force");
  });
});
