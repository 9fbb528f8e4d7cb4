// A token in an https/http URL is how CI usually pushes: it must work and must never be printed,
// in results, logs or errors (even with --verbose, which prints error causes).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
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
});
