// User-supplied text in errors and logs cannot rewrite the terminal or forge a line in a CI log: control
// characters are shown escaped, by the one printer every error and log line goes through.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { terminalSafe } from "../cli/io.js";
import type { Change } from "../reconciler/model.js";
import { changePatch } from "../reconciler/plan/patch.js";
import { formatPlanText } from "../reconciler/plan/text.js";
import { runCli } from "./helpers/cli.js";
import { git } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

const ESC = "\u001b";
const BEL = "\u0007";

const CONFIG = `name: esc
image: 127.0.0.1:5000/esc/sysconfig
environments:
  develop: { target: { kind: docker } }
services:
  web:
    image: 127.0.0.1:5000/esc/web
    tag: 1-develop
`;

let root: string;
let repo: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-escape-"));
  repo = path.join(root, "repo");
  await mkdir(repo);
  git(["init", "--quiet", "--initial-branch", "develop"], repo);
  await writeFile(path.join(repo, "sysconfig.yaml"), CONFIG);
  expect((await runCli(["render", "--repo", repo, "--environment", "develop"])).code).toBe(0);
  git(["add", "-A"], repo);
  git(["commit", "--quiet", "-m", "first"], repo);
});
afterAll(() => cleanup());

/** No raw ESC or BEL anywhere in what the process wrote. */
function expectNoRawControls(text: string): void {
  expect(text).not.toContain(ESC);
  expect(text).not.toContain(BEL);
}

describe("errors quoting user input", () => {
  it("plan --environment with an OSC title sequence is exit 3 and shows it escaped", async () => {
    const result = await runCli(["plan", "--repo", repo, "--environment", `${ESC}]0;pwned${BEL}`]);
    expect(result.code).toBe(3);
    expectNoRawControls(result.stdout + result.stderr);
    expect(result.stderr).toContain(String.raw`'\e]0;pwned\u0007' is not an environment of esc`);
  });

  it("a BRANCH_NAME holding a newline cannot forge a second log line", async () => {
    const detached = path.join(root, "detached");
    git(["clone", "--quiet", "--", repo, detached]);
    git(["checkout", "--quiet", "--detach"], detached);
    const result = await runCli(["build", "--repo", detached, "--dry-run"], {
      env: { BRANCH_NAME: "x\nsysconfig: all good, pushed" },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(String.raw`'x\nsysconfig: all good, pushed' is not an environment`);
    expect(result.stderr.split("\n").filter((l) => l.startsWith("sysconfig:"))).toHaveLength(1);
  });

  it("a config key holding ESC is named escaped in validate's error", async () => {
    const bad = path.join(root, "bad-key");
    await mkdir(bad);
    await writeFile(
      path.join(bad, "sysconfig.yaml"),
      `${CONFIG}    env:\n      "A\\e[2JB": x\n`, // YAML's "\e" is ESC
    );
    const result = await runCli(["validate", "--repo", bad, "--environment", "develop"]);
    expect(result.code).toBe(3);
    expectNoRawControls(result.stderr);
    expect(result.stderr).toContain(
      String.raw`services.web.env: the key "A\u001b[2JB" is not an environment variable name`,
    );
  });

  it("an unknown option holding ESC is echoed escaped by the usage error", async () => {
    const result = await runCli(["plan", `--x${ESC}[31m`]);
    expect(result.code).toBe(3);
    expectNoRawControls(result.stderr);
    expect(result.stderr).toContain(String.raw`unknown option '--x\e[31m'`);
  });

  it("bump refuses a service name with ESC and shows it escaped", async () => {
    const result = await runCli(["bump", `we${ESC}b`, "2-develop", "--repo", repo, "--dry-run"]);
    expect(result.code).toBe(3);
    expectNoRawControls(result.stderr);
  });
});

describe("diffs of files someone edited by hand", () => {
  it("render --check shows an ESC sequence in a rendered file escaped", async () => {
    const edited = path.join(root, "edited");
    git(["clone", "--quiet", "--", repo, edited]);
    await writeFile(
      path.join(edited, "rendered/web.yaml"),
      `# ${ESC}]0;pwned${BEL}${ESC}[2J\nservice: web\n`,
    );
    const result = await runCli(["render", "--check", "--repo", edited]);
    expect(result.code).toBe(3);
    expectNoRawControls(result.stdout + result.stderr);
    expect(result.stdout).toContain(String.raw`-# \e]0;pwned\u0007\e[2J`);
  });
});

describe("the printer and the plan", () => {
  it("terminalSafe keeps a message's own newlines and escapes every other control character", () => {
    expect(terminalSafe(`a${ESC}]0;t${BEL}\n  b\r\u009b`)).toBe(
      String.raw`a\e]0;t\u0007` + "\n  b" + String.raw`\r\u009b`,
    );
  });

  it("a plan diff and its notes show control characters from a live object escaped", () => {
    const change: Change = {
      action: "update",
      subject: "docker:container/x",
      desired: {
        subject: "docker:container/x",
        name: "x",
        service: "x",
        text: "a: 1\n",
        hash: "2",
        dependsOn: [],
        spec: {},
      },
      actual: {
        subject: "docker:container/x",
        name: "x",
        owned: true,
        text: `a: ${ESC}]0;pwned${BEL}\n`,
        hash: "1",
        spec: {},
      },
      notes: [`drift: state is '${ESC}[2J'`],
    };
    const text = formatPlanText(
      { system: "s", environment: "e", revision: "r", targetKind: "docker", changes: [change] },
      { color: false },
    );
    expectNoRawControls(text);
    expect(changePatch(change)).toContain(String.raw`-a: \e]0;pwned\u0007`);
    expect(text).toContain(String.raw`note: drift: state is '\e[2J'`);
  });
});
