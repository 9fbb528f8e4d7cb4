// A token in an https/http URL is how CI usually pushes: it must work and must never be printed,
// in results, logs or errors (even with --verbose, which prints error causes).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
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
});
