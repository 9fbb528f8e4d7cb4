// Numbers, addresses and paths from the command line and the environment are checked before anything runs:
// durations stop at Node's timer limit, 0 is refused where it means nothing, Docker host addresses are parsed
// strictly, IPv6 git URLs are URLs, and init refuses paths it cannot create without spinning.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli } from "./helpers/cli.js";
import { initExample } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;
let example: string;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-input-bounds-"));
  example = await initExample(root);
});
afterAll(() => cleanup());

const RANGE = "from 1 to 2147483 (Node's timer limit, about 24 days)";

describe("durations in sysconfig.yaml are bounded", () => {
  it.each([
    [
      "intervalSeconds: 100000000000",
      "services.web.health.intervalSeconds: expected at most 86400 (a day), got 100000000000",
    ],
    [
      "timeoutSeconds: 86401",
      "services.web.health.timeoutSeconds: expected at most 86400 (a day), got 86401",
    ],
    [
      "startPeriodSeconds: 1e12",
      "services.web.health.startPeriodSeconds: expected at most 86400 (a day), got 1000000000000",
    ],
    ["retries: 1000", "services.web.health.retries: expected at most 100, got 1000"],
  ])("refuses health %s with exit 3 naming the field and its limit", async (field, message) => {
    const dir = path.join(root, `health-${field.split(":")[0] ?? "x"}`);
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, "sysconfig.yaml"),
      [
        "name: acme",
        "image: 127.0.0.1:5000/acme/sysconfig",
        "environments: { develop: { target: { kind: docker } } }",
        "services:",
        "  web:",
        "    image: 127.0.0.1:5000/acme/web",
        "    tag: 1-develop",
        `    health: { http: { path: /, port: 8080 }, ${field} }`,
      ].join("\n") + "\n",
    );
    const result = await runCli(["validate", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(message);
  });
});

describe("whole-number flags and their variables are bounded", () => {
  it.each([
    ["reconcile", "--timeout"],
    ["reconcile", "--lock-timeout"],
    ["plan", "--request-timeout"],
    ["bump", "--git-timeout"],
    ["build", "--git-timeout"],
  ])("%s %s past Node's timer limit (3000000) is exit 3 with the allowed range", async (command, flag) => {
    const args = command === "bump" ? ["bump", "web", "2-develop"] : [command];
    for (const value of ["3000000", "2147484"]) {
      const result = await runCli([...args, "--repo", example, flag, value]);
      expect({ value, code: result.code }).toEqual({ value, code: 3 });
      expect(result.stderr).toContain(flag);
      expect(result.stderr).toContain(RANGE);
      expect(result.stderr).not.toContain("TimeoutOverflowWarning");
    }
  });

  it("refuses SYSCONFIG_TIMEOUT=3000000 naming the variable and the range", async () => {
    const result = await runCli(["reconcile", "--repo", example], { env: { SYSCONFIG_TIMEOUT: "3000000" } });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('SYSCONFIG_TIMEOUT="3000000"');
    expect(result.stderr).toContain(RANGE);
  });

  it.each([
    ["reconcile", "--timeout", "pass --no-wait"],
    ["reconcile", "--lock-timeout", "omit --wait-lock"],
    ["reconcile", "--parallelism", "pass 1 to apply one change at a time"],
    ["plan", "--request-timeout", "omit the flag"],
    ["bump", "--max-attempts", "pass 1 to push once"],
    ["bump", "--git-timeout", "omit the flag"],
  ])("%s %s 0 is exit 3 and says what to do instead", async (command, flag, hint) => {
    const args = command === "bump" ? ["bump", "web", "2-develop"] : [command];
    const result = await runCli([...args, "--repo", example, flag, "0"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(flag);
    expect(result.stderr).toContain("0 makes no sense here");
    expect(result.stderr).toContain(hint);
  });

  it("refuses --parallelism and --max-attempts above their ranges", async () => {
    const parallel = await runCli(["reconcile", "--repo", example, "--parallelism", "100000"]);
    expect(parallel.code).toBe(3);
    expect(parallel.stderr).toContain("from 1 to 256");
    const attempts = await runCli(["bump", "web", "2-develop", "--repo", example, "--max-attempts", "1000"]);
    expect(attempts.code).toBe(3);
    expect(attempts.stderr).toContain("from 1 to 100");
    const deletes = await runCli(["plan", "--repo", example, "--max-delete", "99999999999"]);
    expect(deletes.code).toBe(3);
    expect(deletes.stderr).toContain("from 0 to 1000000");
  });

  it("accepts every limit itself, and --max-delete 0 (delete nothing)", async () => {
    const result = await runCli([
      "reconcile",
      "--repo",
      example,
      "--dry-run",
      "--timeout",
      "2147483",
      "--wait-lock", // --lock-timeout without it is refused as ignored (cli/flag-rules.ts)
      "--lock-timeout",
      "2147483",
      "--parallelism",
      "256",
      "--request-timeout",
      "2147483",
      "--max-delete",
      "0",
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("refuses a DOCKER_CLIENT_TIMEOUT that is not whole seconds within the timer limit, before building", async () => {
    for (const value of ["abc", "0", "3000000", "1.5"]) {
      const result = await runCli(["build", "--repo", example, "--dry-run"], {
        env: { DOCKER_CLIENT_TIMEOUT: value },
      });
      expect({ value, code: result.code }).toEqual({ value, code: 3 });
      expect(result.stderr).toContain(`DOCKER_CLIENT_TIMEOUT=${JSON.stringify(value)} is invalid`);
      expect(result.stderr).toContain(RANGE.replace("from 1 to", "seconds from 1 to"));
    }
    const fine = await runCli(["build", "--repo", example, "--dry-run"], {
      env: { DOCKER_CLIENT_TIMEOUT: "120" },
    });
    expect(fine.code).toBe(0);
  });
});

describe("Docker host addresses are checked before anything connects", () => {
  it.each([
    "unix://",
    "unix://docker.sock",
    "tcp://",
    "bogus",
    "127.0.0.1:2375",
    "tcp://h:2375/v1",
    "ftp://h",
  ])("plan --target docker --endpoint %s is exit 3 with the accepted forms", async (endpoint) => {
    const started = Date.now();
    const result = await runCli(["plan", "--repo", example, "--target", "docker", "--endpoint", endpoint]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `docker endpoint ${JSON.stringify(endpoint)} (from --endpoint) is invalid`,
    );
    expect(result.stderr).toContain("Accepted forms: unix:///var/run/docker.sock, tcp://HOST:2375");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("DOCKER_HOST=bogus is exit 3 naming DOCKER_HOST, for the Docker target and for build", async () => {
    const plan = await runCli(["plan", "--repo", example, "--target", "docker"], {
      env: { DOCKER_HOST: "bogus" },
    });
    expect(plan.code).toBe(3);
    expect(plan.stderr).toContain('docker endpoint "bogus" (from DOCKER_HOST) is invalid: it has no scheme');
    const build = await runCli(["build", "--repo", example, "--dry-run"], { env: { DOCKER_HOST: "bogus" } });
    expect(build.code).toBe(3);
    expect(build.stderr).toContain('docker endpoint "bogus" (from DOCKER_HOST) is invalid');
  });

  it("fleet's --endpoint unix:// without a path is exit 3 as well", async () => {
    const result = await runCli(["plan", "--repo", example, "--target", "fleet", "--endpoint", "unix://"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("a unix endpoint needs an absolute socket path");
  });
});

describe("IPv6 git URLs", () => {
  it.each(["https://[::1]:9/x.git", "ssh://git@[::1]:9/x.git", "git://[::1]:9/x.git"])(
    "bump --repo %s is tried as a URL (exit 1, connection refused), not refused as a remote-helper address",
    async (url) => {
      const result = await runCli(["bump", "web", "2-develop", "--repo", url], {
        env: { GIT_SSH_COMMAND: "ssh -o BatchMode=yes", SYSCONFIG_GIT_TIMEOUT: "10" },
      });
      expect(result.stderr).not.toContain("remote-helper");
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`config repo ${url} clone failed`);
    },
  );

  it("still refuses <transport>::<address> forms", async () => {
    for (const repo of ["ext::sh -c id", "fd::3", "::x"]) {
      const result = await runCli(["bump", "web", "2-develop", "--repo", repo]);
      expect({ repo, code: result.code }).toEqual({ repo, code: 3 });
      expect(result.stderr).toContain("remote-helper");
    }
  });
});

describe("init into paths it cannot create", () => {
  /** An existing, empty directory on a pseudo file system where nothing can be created. */
  const emptySysDir = () => {
    for (const dir of ["/sys/kernel/software_nodes", "/sys/kernel/iommu_groups", "/sys/kernel/tracing"]) {
      if (existsSync(dir) && readdirSync(dir).length === 0) return dir;
    }
    throw new Error(
      "no empty directory under /sys/kernel on this machine: the read-only case cannot run here",
    );
  };

  it.each([
    ["a new directory in /proc", () => "/proc/sysconfig-x", "cannot create /proc/sysconfig-x"],
    ["a nested one in /proc/self", () => "/proc/self/x/y", "cannot create /proc/self/x"],
    ["a directory under a regular file", () => path.join(root, "a-file", "x"), "not a directory"],
    ["an empty directory on a read-only pseudo file system", emptySysDir, "cannot write the scaffold there"],
  ])(
    "refuses %s at once (exit 3, no spinning, nothing left)",
    async (_what, dir, reason) => {
      await writeFile(path.join(root, "a-file"), "x");
      const started = Date.now();
      const result = await runCli(["init", dir()]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(reason);
      expect(result.stderr).toContain("Nothing was changed.");
      expect(result.stderr).not.toContain("internal error");
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(existsSync("/proc/sysconfig-x")).toBe(false);
    },
    30_000,
  );
});

describe("secret files from flags", () => {
  it("refuses a device or a directory instead of reading it for ever (exit 3)", async () => {
    const { readSecretFile } = await import("../reconciler/serve/inputs.js");
    for (const [file, reason] of [
      ["/dev/zero", "it is not a regular file"],
      ["/tmp", "it is not a regular file"],
    ] as const) {
      let error: unknown;
      try {
        readSecretFile(file, "--webhook-secret-file");
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ exitCode: 3 });
      expect(String(error)).toContain(reason);
    }
  });
});
