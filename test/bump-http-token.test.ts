// A token in an https/http URL is how CI usually pushes: it must work and must never be printed,
// in results, logs or errors (even with --verbose, which prints error causes).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseGitVersion, takesConfigFromEnv } from "../cli/git/url-credentials.js";
import { runCli } from "./helpers/cli.js";
import { bareClone, initExample, refsOf, tagAt } from "./helpers/config-repos.js";
import { startGitHttpServer, type GitHttpServer } from "./helpers/git-http-server.js";
import { tempDir } from "./helpers/tmp.js";

const TOKEN = "glpat-Zq8x1s3cr3tT0k3n";
let root: string;
let remote: string;
let server: GitHttpServer;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-bump-http-"));
  remote = bareClone(await initExample(root), path.join(root, "sysconfig.git"));
  server = await startGitHttpServer(root, "ci", TOKEN);
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

describe("bump with a token in an http URL", () => {
  it("pushes with the token and never prints it", async () => {
    const url = `${server.url("ci", TOKEN)}sysconfig.git`;
    const result = await runCli(["bump", "hello", "90-develop", "--repo", url, "--verbose"]);
    expect(result.code).toBe(0);
    expect(tagAt(remote, "develop", "hello")).toBe("90-develop");
    expect(result.stdout).toContain("pushed to http://ci:***@127.0.0.1:");
    expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
  });

  it("fails with exit 1 on a wrong token, printing neither token, and changes nothing", async () => {
    const before = refsOf(remote);
    const wrong = "wrong-Zq8x1s3cr3t";
    const url = `${server.url("ci", wrong)}sysconfig.git`;
    const result = await runCli(["bump", "hello", "91-develop", "--repo", url, "--verbose"], {
      env: { SYSCONFIG_VERBOSE: "1" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/clone failed: .*Authentication failed/s);
    expect(`${result.stdout}${result.stderr}`).not.toContain(wrong);
    expect(server.stats.unauthorized).toBeGreaterThan(0);
    expect(refsOf(remote)).toBe(before);
  });

  it("keeps the token off git's command line and out of the clone's .git/config", async () => {
    // A git shim first on PATH records every git command line, and the clone's config at push time.
    const shimDir = path.join(root, "shim");
    await mkdir(shimDir, { recursive: true });
    const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    const argvLog = path.join(root, "git-argv.log");
    const configLog = path.join(root, "git-config.log");
    await writeFile(
      path.join(shimDir, "git"),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\n` +
        `if [ "$1" = push ]; then cat "$(${realGit} rev-parse --git-dir)/config" >> '${configLog}'; fi\n` +
        `exec '${realGit}' "$@"\n`,
    );
    await chmod(path.join(shimDir, "git"), 0o755);
    const url = `${server.url("ci", TOKEN)}sysconfig.git`;
    const result = await runCli(["bump", "hello", "92-develop", "--repo", url], {
      env: { PATH: `${shimDir}:${process.env.PATH ?? ""}` },
    });
    expect(result.code).toBe(0);
    expect(tagAt(remote, "develop", "hello")).toBe("92-develop");
    const argv = await readFile(argvLog, "utf8");
    expect(argv).toMatch(/^clone .* http:\/\/127\.0\.0\.1:\d+\/sysconfig\.git /m);
    expect(argv).toMatch(/^push /m);
    expect(argv).not.toContain(TOKEN);
    const config = await readFile(configLog, "utf8");
    expect(config).toMatch(/url = http:\/\/127\.0\.0\.1:\d+\/sysconfig\.git\n/);
    expect(config).not.toContain(TOKEN);
    expect(config).not.toContain(Buffer.from(`ci:${TOKEN}`).toString("base64"));
  });

  it("refuses (exit 3) before any request when git is older than 2.31 and would send no token", async () => {
    // A git shim that reports 2.30 (it cannot read GIT_CONFIG_COUNT): it would send no credentials at all.
    const shimDir = path.join(root, "old-git");
    await mkdir(shimDir, { recursive: true });
    const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    await writeFile(
      path.join(shimDir, "git"),
      `#!/bin/sh\nif [ "$1" = --version ]; then echo 'git version 2.30.2'; exit 0; fi\nexec '${realGit}' "$@"\n`,
    );
    await chmod(path.join(shimDir, "git"), 0o755);
    const before = refsOf(remote);
    const requests = server.stats.requests;
    const url = `${server.url("ci", TOKEN)}sysconfig.git`;
    const result = await runCli(["bump", "hello", "93-develop", "--repo", url], {
      env: { PATH: `${shimDir}:${process.env.PATH ?? ""}` },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      "git 2.30 is older than 2.31 and cannot take the credentials from the environment; upgrade git or use an SSH URL",
    );
    expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
    expect(server.stats.requests).toBe(requests);
    expect(refsOf(remote)).toBe(before);
  });
});

describe("git version check", () => {
  it("parses git --version output as git prints it on each platform", () => {
    expect(parseGitVersion("git version 2.39.5\n")).toEqual({ major: 2, minor: 39 });
    expect(parseGitVersion("git version 2.30.1.windows.1")).toEqual({ major: 2, minor: 30 });
    expect(parseGitVersion("git version 2.24.3 (Apple Git-128)")).toEqual({ major: 2, minor: 24 });
    expect(parseGitVersion("not git")).toBeUndefined();
  });

  it("takes config from the environment from git 2.31 on", () => {
    expect(takesConfigFromEnv({ major: 2, minor: 30 })).toBe(false);
    expect(takesConfigFromEnv({ major: 1, minor: 99 })).toBe(false);
    expect(takesConfigFromEnv({ major: 2, minor: 31 })).toBe(true);
    expect(takesConfigFromEnv({ major: 3, minor: 0 })).toBe(true);
    expect(takesConfigFromEnv(undefined)).toBe(true);
  });
});
