// The CLI's edges through the built binary: SYSCONFIG_<FLAG> variables, --verbose, --repo checks,
// prototype-named inputs and init's target directory.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { runCli } from "./helpers/cli.js";
import { writeConfigRepo } from "./helpers/config-repo.js";
import { git, initExample } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-cli-flags-"));
});
afterAll(() => cleanup());

describe("SYSCONFIG_<FLAG> boolean variables against a fleet API", () => {
  let dir: string;
  let fleet: FakeFleetServer;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli([...args, "--repo", dir, "--environment", "staging", "--endpoint", fleet.endpoint], { env });

  beforeAll(async () => {
    dir = path.join(root, "fleet-repo");
    fleet = await startFleetServer({ transitionMs: 0 });
    await writeConfigRepo(dir, "flags", { hello: {}, worker: { instances: 2 } }, "staging");
  });
  afterAll(() => fleet.close());

  it("reads 0/false/no as off and 1/true/yes as on, any case; empty is unset", async () => {
    for (const value of ["true", "1", "YES"]) {
      expect((await run(["reconcile"], { SYSCONFIG_DRY_RUN: value })).code).toBe(0);
      expect(fleet.units.size).toBe(0);
    }
    expect((await run(["plan"], { SYSCONFIG_EXIT_CODE: "" })).code).toBe(0);
    expect((await run(["plan"], { SYSCONFIG_EXIT_CODE: "no" })).code).toBe(0);
    expect((await run(["plan"], { SYSCONFIG_EXIT_CODE: "True" })).code).toBe(2);

    const applied = await run(["reconcile", "--timeout", "20"], { SYSCONFIG_DRY_RUN: "false" });
    expect(applied.code).toBe(0);
    expect(fleet.units.size).toBe(4);
  });

  it("SYSCONFIG_ALLOW_MASS_DELETE=0 or false does not allow a mass delete; the explicit flag wins", async () => {
    await writeConfigRepo(dir, "flags", { hello: {} }, "staging");
    for (const value of ["0", "false", "No"]) {
      const refused = await run(["reconcile"], { SYSCONFIG_ALLOW_MASS_DELETE: value });
      expect({ value, code: refused.code }).toEqual({ value, code: 4 });
      expect(refused.stderr).toMatch(/--allow-mass-delete/);
      expect(fleet.units.size).toBe(4);
    }
    const allowed = await run(["reconcile", "--allow-mass-delete"], { SYSCONFIG_ALLOW_MASS_DELETE: "0" });
    expect(allowed.code).toBe(0);
    expect(fleet.units.size).toBe(1);
  });
});

describe("SYSCONFIG_<FLAG> values that are not valid exit 3 and name the variable", () => {
  let dir: string;
  beforeAll(async () => {
    dir = path.join(root, "plain-repo");
    await writeConfigRepo(dir, "flags", { hello: {} });
  });

  it("refuses a boolean variable that is not 1/true/yes/0/false/no, changing nothing", async () => {
    const result = await runCli(["bump", "hello", "2-develop", "--repo", dir], {
      env: { SYSCONFIG_FORCE: "maybe" },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('SYSCONFIG_FORCE="maybe"');
    expect(result.stderr).toMatch(/1, true or yes .* 0, false or no/);
    expect(await readFile(path.join(dir, "sysconfig.yaml"), "utf8")).toContain("tag: 1-develop");
  });

  it("accepts only digits for whole-number flags and variables", async () => {
    const plan = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runCli(["plan", "--repo", dir, "--environment", "develop", "--target", "kubernetes", ...args], { env });
    for (const value of [" 7", "7 ", "1e3", "0x10", "-1", "7.0"]) {
      const fromEnv = await plan([], { SYSCONFIG_MAX_DELETE: value });
      expect({ value, code: fromEnv.code }).toEqual({ value, code: 3 });
      expect(fromEnv.stderr).toContain("SYSCONFIG_MAX_DELETE");
      expect(fromEnv.stderr).toContain("--max-delete");
      const fromFlag = await plan(["--max-delete", value]);
      expect({ value, code: fromFlag.code }).toEqual({ value, code: 3 });
      expect(fromFlag.stderr).toContain("--max-delete");
    }
    const emptyFlag = await plan(["--max-delete", ""]);
    expect(emptyFlag.code).toBe(3);
    // An empty variable is unset, and a valid one goes on to the command (here: no kubeconfig to read).
    const noCluster = { KUBECONFIG: "/nonexistent/kubeconfig", KUBERNETES_SERVICE_HOST: "" };
    for (const env of [{ SYSCONFIG_MAX_DELETE: "" }, { SYSCONFIG_MAX_DELETE: "7" }]) {
      const result = await plan([], { ...env, ...noCluster });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/kubeconfig \/nonexistent\/kubeconfig cannot be read/);
    }
  });

  it("refuses a --lock-timeout or SYSCONFIG_LOCK_TIMEOUT that is not digits with exit 3, naming it", async () => {
    const reconcile = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runCli(["reconcile", "--repo", dir, "--environment", "develop", "--wait-lock", ...args], { env });
    const fromFlag = await reconcile(["--lock-timeout", "abc"]);
    expect(fromFlag.code).toBe(3);
    expect(fromFlag.stderr).toContain("--lock-timeout");
    expect(fromFlag.stderr).toContain("digits only");
    const fromEnv = await reconcile([], { SYSCONFIG_LOCK_TIMEOUT: "10s" });
    expect(fromEnv.code).toBe(3);
    expect(fromEnv.stderr).toContain("SYSCONFIG_LOCK_TIMEOUT");
  });

  it("checks a variable against the flag's choices, and the flag wins over the variable", async () => {
    const bad = await runCli(["plan", "--repo", dir, "--environment", "develop"], {
      env: { SYSCONFIG_OUTPUT: "yaml" },
    });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/SYSCONFIG_OUTPUT="yaml".*--output/);
    const overridden = await runCli(
      ["plan", "--repo", dir, "--environment", "develop", "--target", "nomad"],
      { env: { SYSCONFIG_TARGET: "fleet" } },
    );
    expect(overridden.code).toBe(3);
    expect(overridden.stderr).toMatch(/nomad/);
  });

  it("reads SYSCONFIG_VERBOSE like every boolean variable", async () => {
    const empty = path.join(root, "empty-for-verbose");
    await mkdir(empty, { recursive: true });
    const on = await runCli(["validate", "--repo", empty], { env: { SYSCONFIG_VERBOSE: "true" } });
    expect(on.code).toBe(3);
    expect(on.stderr).toMatch(/^cause: Error: ENOENT/m);
    const off = await runCli(["validate", "--repo", empty], { env: { SYSCONFIG_VERBOSE: "0" } });
    expect(off.code).toBe(3);
    expect(off.stderr).not.toContain("cause:");
    const bad = await runCli(["validate", "--repo", empty], { env: { SYSCONFIG_VERBOSE: "2" } });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('SYSCONFIG_VERBOSE="2"');
  });
});

describe("--verbose", () => {
  it("prints the error's cause whether given before or after the command, and not without it", async () => {
    const empty = path.join(root, "empty-for-flag");
    await mkdir(empty, { recursive: true });
    for (const args of [
      ["--verbose", "validate", "--repo", empty],
      ["validate", "--repo", empty, "--verbose"],
    ]) {
      const result = await runCli(args, { env: { SYSCONFIG_VERBOSE: "" } });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/cannot read the config/);
      expect(result.stderr).toMatch(/^cause: Error: ENOENT/m);
    }
    const quiet = await runCli(["validate", "--repo", empty], { env: { SYSCONFIG_VERBOSE: "" } });
    expect(quiet.code).toBe(3);
    expect(quiet.stderr).not.toContain("cause:");
  });
});

describe("inputs named like Object.prototype's properties", () => {
  let work: string;
  beforeAll(async () => {
    work = await initExample(path.join(root, "proto"));
  });

  it("refuses --environment toString/constructor/__proto__ with exit 3 and the known environments", async () => {
    for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      for (const command of ["validate", "render", "plan"]) {
        const result = await runCli([command, "--repo", work, "--environment", name]);
        expect({ name, command, code: result.code }).toEqual({ name, command, code: 3 });
        expect(result.stderr).toContain(`'${name}' is not an environment of acme`);
        expect(result.stderr).toMatch(/develop, staging, master/);
        expect(result.stderr).not.toContain("internal error");
      }
    }
    expect(git(["status", "--porcelain"], work)).toBe("");
  });

  it("refuses a checked-out branch named constructor as an environment", async () => {
    const dir = path.join(root, "proto", "branch");
    git(["clone", "--quiet", "--", work, dir]);
    git(["checkout", "--quiet", "-b", "constructor"], dir);
    const result = await runCli(["render", "--check", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("'constructor' is not an environment of acme");
  });
});

describe("--repo for commands that work on a local checkout", () => {
  it("refuses a git URL with exit 3, never printing its token", async () => {
    const urls = [
      "https://ci-bot:s3cr3t-t0ken@git.example.com/acme/sysconfig.git",
      "https://s3cr3t-t0ken@git.example.com/acme/sysconfig.git",
      "git@git.example.com:acme/sysconfig.git",
      "file:///srv/git/sysconfig.git",
    ];
    for (const url of urls) {
      for (const args of [
        ["validate"],
        ["render", "--check"],
        ["build", "--dry-run"],
        ["plan", "--environment", "develop"],
        ["reconcile", "--environment", "develop"],
      ]) {
        const result = await runCli([...args, "--repo", url, "--verbose"]);
        expect({ url, args, code: result.code }).toEqual({ url, args, code: 3 });
        expect(result.stderr).toMatch(/it is a git URL.*Clone it first/s);
        expect(result.stderr + result.stdout).not.toContain("s3cr3t");
      }
    }
    const shown = await runCli(["validate", "--repo", urls[0] ?? ""]);
    expect(shown.stderr).toContain("https://***@git.example.com/acme/sysconfig.git");
  });

  it("keeps a password in --endpoint out of the JSON plan and the error", async () => {
    const dir = path.join(root, "endpoint-repo");
    await writeConfigRepo(dir, "flags", { hello: {} }, "staging");
    const result = await runCli([
      "plan",
      "--repo",
      dir,
      "--environment",
      "staging",
      "--endpoint",
      "http://admin:pa55w0rd-x@127.0.0.1:1",
      "--output",
      "json",
      "--verbose",
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toContain("pa55w0rd-x");
  });

  it("refuses a directory inside a git repo that is not its top, naming the top", async () => {
    const work = await initExample(path.join(root, "nested"));
    const sub = path.join(work, "nested");
    await mkdir(sub);
    await writeFile(path.join(sub, "sysconfig.yaml"), await readFile(path.join(work, "sysconfig.yaml")));
    const expected = `${sub} is not the top of a git repo (it is inside ${work}): pass --repo ${work}`;
    for (const args of [
      ["build", "--dry-run", "--repo", sub],
      ["validate", "--repo", sub],
      ["render", "--repo", sub],
      ["plan", "--repo", sub],
    ]) {
      const result = await runCli(args);
      expect({ args, code: result.code }).toEqual({ args, code: 3 });
      expect(result.stderr).toContain(expected);
    }
    const fromCwd = await runCli(["render"], { cwd: sub });
    expect(fromCwd.code).toBe(3);
    expect(fromCwd.stderr).toContain(expected);
    expect(await readdir(sub)).toEqual(["sysconfig.yaml"]);
    expect((await runCli(["validate", "--repo", work])).code).toBe(0);
  });
});

describe("sysconfig init DIR", () => {
  it("refuses a DIR that is a file, or under a file, with exit 3 and changes nothing", async () => {
    const file = path.join(root, "a-file");
    await writeFile(file, "keep me\n");
    for (const dir of [file, path.join(file, "sub")]) {
      const result = await runCli(["init", dir]);
      expect({ dir, code: result.code }).toEqual({ dir, code: 3 });
      expect(result.stderr).toMatch(/init .* failed: .*Nothing was changed\./);
      expect(result.stderr).not.toContain("internal error");
    }
    expect(await readFile(file, "utf8")).toBe("keep me\n");
  });

  it("scaffolds into an existing empty directory", async () => {
    const dir = path.join(root, "empty-init");
    await mkdir(dir);
    const result = await runCli(["init", dir]);
    expect(result.code).toBe(0);
    expect(git(["rev-parse", "--abbrev-ref", "HEAD"], dir)).toBe("develop\n");
  });
});

describe("sysconfig build --base", () => {
  it("refuses a --base that is not an image reference (it becomes the Dockerfile's FROM) with exit 3", async () => {
    const work = await initExample(path.join(root, "base"));
    for (const base of ["alpine\nRUN id", "a b", "--upload-pack=x", "x$(id)", "Alpine", ""]) {
      const result = await runCli(["build", "--dry-run", "--repo", work, "--base", base]);
      expect({ base, code: result.code }).toEqual({ base, code: 3 });
      expect(result.stderr).toContain("not an image reference");
      expect(result.stdout).toBe("");
    }
    const digest = `sha256:${"ab".repeat(32)}`;
    for (const base of ["sysconfig/reconciler:0.1.0", `127.0.0.1:5000/acme/reconciler:1.2@${digest}`]) {
      const result = await runCli(["build", "--dry-run", "--repo", work, "--base", base]);
      expect({ base, code: result.code }).toEqual({ base, code: 0 });
      expect(result.stdout).toContain(`FROM ${base}`);
    }
  });
});

describe("flags a command would ignore are refused, naming the flag and the command", () => {
  let dir: string;
  let fleet: FakeFleetServer;
  beforeAll(async () => {
    dir = path.join(root, "ignored-flags");
    fleet = await startFleetServer({ transitionMs: 0 });
    await writeConfigRepo(dir, "ignored", { hello: {} }, "staging");
  });
  afterAll(() => fleet.close());
  const where = () => ["--repo", dir, "--environment", "staging", "--endpoint", fleet.endpoint];

  it.each([
    [
      "reconcile --exit-code",
      ["reconcile", "--exit-code"],
      {},
      "reconcile --exit-code failed: reconcile takes --exit-code only with --dry-run",
    ],
    [
      "SYSCONFIG_EXIT_CODE=1 reconcile",
      ["reconcile"],
      { SYSCONFIG_EXIT_CODE: "1" },
      'reconcile SYSCONFIG_EXIT_CODE="1" failed',
    ],
    [
      "reconcile --lock-timeout without --wait-lock",
      ["reconcile", "--lock-timeout", "5"],
      {},
      "reconcile --lock-timeout failed: --lock-timeout bounds --wait-lock only",
    ],
    [
      "reconcile --no-wait --timeout",
      ["reconcile", "--no-wait", "--timeout", "5"],
      {},
      "reconcile --timeout failed: --timeout bounds the health wait, which --no-wait skips",
    ],
  ])("%s: exit 3, nothing applied", async (_case, args, env, message) => {
    const result = await runCli([...args, ...where()], { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`sysconfig: ${message}`);
    expect(fleet.units.size).toBe(0);
  });

  it("refuses them on build, render, bump and serve too, and names the command of an unknown flag", async () => {
    const cases: [string[], string][] = [
      [
        ["build", "--skip-tip-check", "--repo", dir],
        "build --skip-tip-check failed: the tip check runs only with --push",
      ],
      [["render", "--any-branch", "--repo", dir], "render --any-branch failed:"],
      [
        ["bump", "hello", "2-develop", "--dry-run", "--max-attempts", "3", "--repo", dir],
        "bump --max-attempts failed:",
      ],
      [["serve", "--lock-timeout", "5", "--repo", dir], "serve --lock-timeout failed:"],
      [["serve", "--exit-code", "--repo", dir], "unknown option '--exit-code'"],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect({ args, code: result.code }).toEqual({ args, code: 3 });
      expect(result.stderr).toContain(message);
    }
  });
});

describe("a value from a SYSCONFIG_* variable is named by its variable in errors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = path.join(root, "env-sources");
    await writeConfigRepo(dir, "sources", { hello: {} }, "staging");
  });

  it.each([
    [{ SYSCONFIG_ENDPOINT: "bogus" }, "fleet endpoint 'bogus' (from SYSCONFIG_ENDPOINT) is invalid"],
    [
      { SYSCONFIG_ENDPOINT: "a\u0001b" },
      'invalid target: SYSCONFIG_ENDPOINT "a\\u0001b": a string without control characters',
    ],
    [
      { SYSCONFIG_TARGET: "docker", SYSCONFIG_ENDPOINT: "bogus" },
      'docker endpoint "bogus" (from SYSCONFIG_ENDPOINT) is invalid',
    ],
    [{ SYSCONFIG_ENVIRONMENT: "nope" }, "(--environment was set by SYSCONFIG_ENVIRONMENT)"],
  ])("plan with %j", async (env, message) => {
    const args = [
      "plan",
      "--repo",
      dir,
      ...("SYSCONFIG_ENVIRONMENT" in env ? [] : ["--environment", "staging"]),
    ];
    const result = await runCli(args, { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain("--target takes");
  });

  it("serve with SYSCONFIG_LISTEN", async () => {
    const result = await runCli(["serve", "--repo", dir], { env: { SYSCONFIG_LISTEN: "bogus" } });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('--listen "bogus" failed');
    expect(result.stderr).toContain("(--listen was set by SYSCONFIG_LISTEN)");
  });
});
