// Input that used to change meaning silently or be refused without the rule: __proto__ names, bytes that
// are not UTF-8, uncommitted rendered/ files in a plan, zod and Handlebars messages, --repo FILE, tags
// that break git's ref rules, a detached HEAD, an anchored tag, and a repo without a commit yet.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ROOT, runCli } from "./helpers/cli.js";
import { git } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

const HEAD = `name: rules
image: 127.0.0.1:5000/rules/sysconfig
environments:
  develop: { target: { kind: docker } }
`;
const WEB = `  web:
    image: 127.0.0.1:5000/rules/web
    tag: 1-develop
`;

let root: string;
let cleanup: () => Promise<void>;
let count = 0;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-input-rules-"));
});
afterAll(() => cleanup());

/** A config repo on branch develop: sysconfig.yaml (and extra files) rendered, committed unless told not to. */
async function repoWith(
  yaml: string,
  options: { commit?: boolean; files?: Record<string, string | Buffer> } = {},
) {
  count += 1;
  const dir = path.join(root, `repo-${count}`);
  await mkdir(dir);
  git(["init", "--quiet", "--initial-branch", "develop"], dir);
  await writeFile(path.join(dir, "sysconfig.yaml"), yaml);
  for (const [file, content] of Object.entries(options.files ?? {})) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  // --environment: the repo has no commit yet (a render without it is tested on its own below).
  const rendered = await runCli(["render", "--repo", dir, "--environment", "develop"]);
  if (options.commit !== false) {
    if (rendered.code !== 0) throw new Error(`render failed: ${rendered.stderr}`);
    git(["add", "-A"], dir);
    git(["commit", "--quiet", "-m", "first"], dir);
  }
  return dir;
}

describe("__proto__ as a name", () => {
  it.each([
    [
      "a service",
      `${HEAD}services:\n${WEB}  __proto__:\n    image: 127.0.0.1:5000/rules/x\n    tag: 1-develop\n`,
      "services.__proto__",
    ],
    [
      "an environment",
      `${HEAD}  __proto__: { target: { kind: docker } }\nservices:\n${WEB}`,
      "environments.__proto__",
    ],
    [
      "an env var",
      `${HEAD}services:\n${WEB}    env: { __proto__: x, GREETING: hi }\n`,
      "services.web.env.__proto__",
    ],
  ])("as %s is refused with exit 3 naming it, by validate and plan", async (_what, yaml, dotted) => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    await writeFile(path.join(dir, "sysconfig.yaml"), yaml);
    for (const command of ["validate", "plan"]) {
      const result = await runCli([command, "--repo", dir]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`${dotted}: the key "__proto__" is reserved`);
    }
  });
});

describe("bytes that are not UTF-8", () => {
  it("in sysconfig.yaml: exit 3 naming the file, the byte offset and the line", async () => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    const text = `${HEAD}services:\n${WEB}    env: { GREETING: "caf`;
    await writeFile(
      path.join(dir, "sysconfig.yaml"),
      Buffer.concat([Buffer.from(text), Buffer.from([0xe9, 0x22, 0x7d, 0x0a])]),
    );
    const result = await runCli(["validate", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `sysconfig.yaml: not UTF-8 text: byte 0xe9 at offset ${Buffer.byteLength(text)} (line 9)`,
    );
    expect(result.stderr).not.toContain("\ufffd");
  });

  it("in a template: render exits 3 naming the template and writes nothing", async () => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    await mkdir(path.join(dir, "templates"));
    await writeFile(path.join(dir, "templates/web.hbs"), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0x0a]));
    await appendFile(path.join(dir, "sysconfig.yaml"), "    templates: { docker: templates/web.hbs }\n");
    const before = await readFile(path.join(dir, "rendered/web.yaml"), "utf8");
    const result = await runCli(["render", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("templates/web.hbs: not UTF-8 text: byte 0xff at offset 3 (line 1)");
    expect(await readFile(path.join(dir, "rendered/web.yaml"), "utf8")).toBe(before);
  });

  it("in a rendered file: validate and plan exit 3 naming it and saying how to fix it", async () => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    await appendFile(path.join(dir, "rendered/web.yaml"), Buffer.from([0x23, 0x20, 0xc3, 0x28, 0x0a]));
    for (const command of ["validate", "plan"]) {
      const result = await runCli([command, "--repo", dir]);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(
        /rendered\/web\.yaml: not UTF-8 text: byte 0xc3 at offset \d+ \(line \d+\)/,
      );
      expect(result.stderr).toContain("Save the file as UTF-8");
    }
  });
});

describe("plan in a checkout with uncommitted rendered/ files (real Docker engine)", () => {
  it("says in the header, in words, which uncommitted files it includes (text and JSON)", async () => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    await writeFile(path.join(dir, "sysconfig.yaml"), `${HEAD}services:\n${WEB}    env: { GREETING: hi }\n`);
    expect((await runCli(["render", "--repo", dir])).code).toBe(0);
    const text = await runCli(["plan", "--repo", dir]);
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")[1]).toBe(
      "Uncommitted changes in rendered/ are included: rendered/web.yaml. They are not reviewed or committed; " +
        "commit them (or git checkout rendered/) to plan what the branch holds.",
    );
    const json = await runCli(["plan", "--repo", dir, "--output", "json"]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { uncommitted?: { files: string[]; message: string } };
    expect(doc.uncommitted?.files).toEqual(["rendered/web.yaml"]);
    expect(doc.uncommitted?.message).toMatch(/^Uncommitted changes in rendered\/ are included/);

    git(["commit", "--quiet", "-am", "greeting"], dir);
    const clean = await runCli(["plan", "--repo", dir, "--output", "json"]);
    expect((JSON.parse(clean.stdout) as { uncommitted?: unknown }).uncommitted).toBeUndefined();
  });
});

describe("messages that state the rule", () => {
  it("an invalid record key and an empty service say what is expected, not zod's words", async () => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    await writeFile(
      path.join(dir, "sysconfig.yaml"),
      `${HEAD}services:\n${WEB}    env: { "1BAD": x }\n  Web2:\n    image: 127.0.0.1:5000/rules/x\n    tag: 1-develop\n  empty:\n`,
    );
    const result = await runCli(["validate", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `services.web.env: the key "1BAD" is not an environment variable name (letters, digits and '_', not starting with a digit)`,
    );
    expect(result.stderr).toContain(`services: the key "Web2" is not a service name (lowercase letters`);
    expect(result.stderr).toContain(
      "services.empty: expected a map of keys (name: value lines), got null (an empty value)",
    );
    expect(result.stderr).not.toMatch(/Invalid key in record|received null/);
  });

  it("a Handlebars syntax error shows the parser's whole message with the template's line", async () => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}    templates: { docker: templates/web.hbs }\n`, {
      commit: false,
      files: { "templates/web.hbs": "service: web\nimage: {{service.imageRef}\n" },
    });
    const result = await runCli(["render", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("templates/web.hbs:2: template syntax error: Expecting ");
    expect(result.stderr).toContain("got 'INVALID'");
    expect(result.stderr).toMatch(/\n {4}.*\{\{service\.imageRef\}\n {4}-+\^\n/);
    expect(result.stderr).toContain("See docs/templates.md");
  });

  it("the docs page that template errors point to exists", async () => {
    const page = await readFile(path.join(ROOT, "docs/templates.md"), "utf8");
    expect(page).toMatch(/^#+ Templates$/m);
    expect(page).toContain("`service.imageRef`");
  });

  it("--repo naming a regular file says it is a file", async () => {
    const file = path.join(root, "a-file");
    await writeFile(file, "x");
    for (const args of [["validate"], ["bump", "web", "2-develop", "--dry-run"]]) {
      const result = await runCli([...args, "--repo", file]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`--repo ${file} ${args[0]} failed: it is a file, not a directory`);
    }
  });

  it.each([
    ["1-a..b", "it holds '..', which git refuses in a ref name"],
    ["1-develop.lock", "it ends with '.lock', which git refuses in a ref name"],
    ["1-develop.", "it ends with '.', which git refuses in a ref name"],
  ])("tag %s is refused naming the git ref rule it breaks, and nothing is committed", async (tag, rule) => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    const head = git(["rev-parse", "HEAD"], dir);
    const result = await runCli(["bump", "web", tag, "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(rule);
    expect(git(["rev-parse", "HEAD"], dir)).toBe(head);
  });

  it("validate on a detached HEAD says so and how to pick the environment", async () => {
    const dir = await repoWith(`${HEAD}services:\n${WEB}`);
    git(["checkout", "--quiet", "--detach"], dir);
    const result = await runCli(["validate", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/is on a detached HEAD \(commit [0-9a-f]+\)/);
    expect(result.stderr).toContain("pass --environment NAME (one of develop)");
    expect(result.stderr).not.toContain("'HEAD' is not an environment");
    expect((await runCli(["validate", "--repo", dir, "--environment", "develop"])).code).toBe(0);
  });

  const ANCHORED_TAG = `${HEAD}services:\n${WEB.replace("tag: 1-develop", "tag: &t 1-develop")}  api:\n    image: 127.0.0.1:5000/rules/api\n    tag: *t\n`;
  const ANCHORED_SERVICE = `${HEAD}services:\n${WEB.replace("  web:", "  web: &w")}  api: *w\n`;
  it.each([
    ["a tag carrying an anchor", ANCHORED_TAG, "web", "api"],
    ["a tag read through an alias", ANCHORED_TAG, "api", "web"],
    ["a service map carrying an anchor", ANCHORED_SERVICE, "web", "api"],
    ["a service that is an alias of another", ANCHORED_SERVICE, "api", "web"],
  ])("bumping %s changes only that service; the other keeps its tag", async (_what, yaml, bumped, other) => {
    const dir = await repoWith(yaml);
    const result = await runCli(["bump", bumped, "2-develop", "--repo", dir]);
    expect(result.stderr).not.toMatch(/does not read back|internal error|Expected YAML collection/);
    expect(result.code).toBe(0);
    const { loadConfig } = await import("../reconciler/config/load.js");
    const config = await loadConfig(dir);
    expect(config.services[bumped]?.tag).toBe("2-develop");
    expect(config.services[other]?.tag).toBe("1-develop");
    expect(git(["status", "--porcelain"], dir)).toBe("");
    // rendered/ of the other service is still current: validate agrees with what was committed.
    expect((await runCli(["validate", "--repo", dir])).code).toBe(0);
  });
});

describe("a git repo without a commit yet", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await repoWith(`${HEAD}services:\n${WEB}`, { commit: false });
  });

  it("render and validate work on the branch it is on", async () => {
    const render = await runCli(["render", "--repo", dir]);
    expect(render.code).toBe(0);
    expect(render.stderr).not.toMatch(/internal error|ambiguous argument/);
    const validate = await runCli(["validate", "--repo", dir]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain("rendered/ current for develop");
  });

  it("plan takes the environment from the branch and says the rendered files are uncommitted", async () => {
    const plan = await runCli(["plan", "--repo", dir]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(
      /^Plan for rules \(develop\) at unknown on docker:\nUncommitted changes in rendered\/ are included: rendered\/web\.yaml\./,
    );
  });

  it("build and bump say plainly that there is no commit (exit 3)", async () => {
    git(["add", "-A"], dir);
    git(["rm", "--quiet", "--cached", "-r", "."], dir);
    await writeFile(path.join(dir, ".git/info/exclude"), "sysconfig.yaml\nrendered/\n");
    const build = await runCli(["build", "--repo", dir, "--dry-run"]);
    expect(build.code).toBe(3);
    expect(build.stderr).toContain("has no commit to build");
    const bump = await runCli(["bump", "web", "2-develop", "--repo", dir, "--dry-run"]);
    expect(bump.code).toBe(3);
    expect(bump.stderr).toContain("'develop' has no commit yet");
    expect(bump.stderr).not.toMatch(/ambiguous argument|internal error/);
  });
});
