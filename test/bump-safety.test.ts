// sysconfig bump's safety against real git: secrets stay masked in the printed diff, prototype names are
// unknown services, a failed bump leaves a working checkout exactly as it was, a dry run plans against the
// upstream, and --template / the config repo cannot reach outside their repos through symlinks.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli } from "./helpers/cli.js";
import { bareClone, fileAt, git, initExample, refsOf, tagAt } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

const DB_PASSWORD = "hunter2-Qx7-s3cret";
const API_TOKEN = "tok-Zq8-s3cret";

let root: string;
let work: string;
let cleanup: () => Promise<void>;
let counter = 0;

function freshRemote(): string {
  counter += 1;
  return bareClone(work, path.join(root, `remote-${counter}.git`));
}

/** A clone of a fresh remote's develop branch, tracking it. */
function freshCheckout(): { remote: string; checkout: string } {
  const remote = freshRemote();
  const checkout = path.join(root, `checkout-${counter}`);
  git(["clone", "--quiet", "--branch", "develop", "--", remote, checkout]);
  return { remote, checkout };
}

/** Everything `git status` reports, untracked files included: empty means clean. */
function status(checkout: string): string {
  return git(["status", "--porcelain", "--untracked-files=all"], checkout);
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-bump-safety-"));
  work = await initExample(root);
});
afterAll(() => cleanup());

describe("bump prints the diff with secrets masked", () => {
  let remote: string;
  beforeAll(async () => {
    const repo = path.join(root, "secret-work");
    await mkdir(repo);
    await writeFile(
      path.join(repo, "sysconfig.yaml"),
      [
        "name: safe",
        "image: 127.0.0.1:5000/safe/sysconfig",
        "environments:",
        "  develop: {target: {kind: docker}}",
        "services:",
        "  api:",
        "    tag: 1-develop",
        "    env:",
        `      DB_PASSWORD: ${DB_PASSWORD}`,
        `      API_TOKEN: ${API_TOKEN}`,
        "      LOG_LEVEL: info",
        "    image: 127.0.0.1:5000/safe/api",
        "",
      ].join("\n"),
    );
    git(["init", "--quiet", "--initial-branch", "develop"], repo);
    expect((await runCli(["render", "--repo", repo, "--environment", "develop"])).code).toBe(0);
    git(["add", "."], repo);
    git(["commit", "--quiet", "-m", "safe"], repo);
    remote = bareClone(repo, path.join(root, "secret.git"));
  });

  it.each([["--dry-run"], []])("never prints Environment/env secret values (%j)", async (...flags) => {
    const result = await runCli(["bump", "api", "2-develop", "--repo", remote, ...flags]);
    expect(result.code).toBe(0);
    // The secrets sit right next to the changed lines, so without masking the diff would show them.
    expect(result.stdout).toContain("+    tag: 2-develop\n");
    expect(result.stdout).toMatch(/DB_PASSWORD: "?<secret[^>]*>/);
    expect(result.stdout).toMatch(/"API_TOKEN": "?<secret[^>]*>/);
    expect(`${result.stdout}${result.stderr}`).not.toContain(DB_PASSWORD);
    expect(`${result.stdout}${result.stderr}`).not.toContain(API_TOKEN);
  });

  it("commits the real values: masking is for display only", () => {
    expect(fileAt(remote, "develop", "rendered/api.yaml")).toContain(`"API_TOKEN": "${API_TOKEN}"`);
  });
});

describe("bump with a service or branch named like an Object.prototype key", () => {
  it.each(["constructor", "tostring", "hasownproperty"])(
    "refuses the service %j as unknown (exit 3) instead of crashing",
    async (service) => {
      const remote = freshRemote();
      const before = refsOf(remote);
      const result = await runCli(["bump", service, "58-develop", "--repo", remote]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`service '${service}' bump failed: acme has no such service`);
      expect(result.stderr).toContain("Known services: hello, legacy-api, worker");
      expect(refsOf(remote)).toBe(before);
    },
  );

  it("refuses a git branch named 'constructor' as not an environment (exit 3)", async () => {
    const remote = freshRemote();
    git(["branch", "constructor", "develop"], remote);
    const before = refsOf(remote);
    const result = await runCli(["bump", "hello", "58-constructor", "--repo", remote]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("branch 'constructor' bump failed: it is not an environment of acme");
    expect(refsOf(remote)).toBe(before);
  });
});

describe("a failed bump in a working checkout is undone completely", () => {
  async function failingHook(dir: string, hook: string): Promise<void> {
    const file = path.join(dir, "hooks", hook);
    await writeFile(file, "#!/bin/sh\necho 'policy: no bumps today' >&2\nexit 1\n");
    await chmod(file, 0o755);
  }

  it("restores the tree and index when a pre-commit hook refuses the commit (exit 1)", async () => {
    const { remote, checkout } = freshCheckout();
    await failingHook(path.join(checkout, ".git"), "pre-commit");
    const head = git(["rev-parse", "HEAD"], checkout);
    const before = refsOf(remote);
    // The template comes from the service's own repo, where bump runs; the config repo is the checkout.
    const serviceRepo = path.join(root, `own-hello-${counter}`);
    await mkdir(serviceRepo);
    await writeFile(
      path.join(serviceRepo, "own-hello.yaml.hbs"),
      "service: {{json service.name}}\nimage: {{json service.imageRef}}\n",
    );
    const result = await runCli(
      ["bump", "hello", "80-develop", "--repo", checkout, "--template", "own-hello.yaml.hbs"],
      { cwd: serviceRepo },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("commit in");
    expect(result.stderr).toContain("policy: no bumps today");
    expect(result.stderr).toContain("The bump's changes were undone. Nothing was committed.");
    // The new template file and the rewritten files are gone; HEAD and the remote did not move.
    expect(status(checkout)).toBe("");
    expect(existsSync(path.join(checkout, "templates/hello.docker.hbs"))).toBe(false);
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(head);
    expect(refsOf(remote)).toBe(before);
    // And the checkout bumps normally once the hook lets it.
    await writeFile(path.join(checkout, ".git/hooks/pre-commit"), "#!/bin/sh\nexit 0\n");
    expect((await runCli(["bump", "hello", "80-develop"], { cwd: checkout })).code).toBe(0);
    expect(tagAt(remote, "develop", "hello")).toBe("80-develop");
  });

  it("restores the checkout when the push is refused for good (a pre-receive hook)", async () => {
    const { remote, checkout } = freshCheckout();
    await failingHook(remote, "pre-receive");
    const head = git(["rev-parse", "HEAD"], checkout);
    const before = refsOf(remote);
    const result = await runCli(["bump", "hello", "81-develop"], { cwd: checkout });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Nothing was pushed");
    expect(status(checkout)).toBe("");
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(head);
    expect(refsOf(remote)).toBe(before);
  });

  it("refuses untracked files where the bump writes (exit 3), touching nothing", async () => {
    const { checkout } = freshCheckout();
    await writeFile(path.join(checkout, "rendered/notes.txt"), "mine\n");
    const head = git(["rev-parse", "HEAD"], checkout);
    const result = await runCli(["bump", "hello", "82-develop"], { cwd: checkout });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("untracked files where a bump writes (rendered/notes.txt)");
    expect(status(checkout)).toBe("?? rendered/notes.txt\n");
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(head);
  });
});

describe("a working checkout whose upstream was rewritten", () => {
  it("says the branch diverged from a rewritten upstream (force-push?) and how to recover, changing nothing", async () => {
    const { remote, checkout } = freshCheckout();
    const other = path.join(root, `other-${counter}`);
    git(["clone", "--quiet", "--branch", "develop", "--", remote, other]);
    git(
      ["-c", "user.name=a", "-c", "user.email=a@b", "commit", "--quiet", "--allow-empty", "-m", "X"],
      other,
    );
    git(["push", "--quiet", "origin", "develop"], other);
    git(["pull", "--quiet", "--ff-only"], checkout);
    // The upstream is rewritten: X replaced by Y, force-pushed.
    git(["reset", "--quiet", "--hard", "HEAD~1"], other);
    git(
      ["-c", "user.name=a", "-c", "user.email=a@b", "commit", "--quiet", "--allow-empty", "-m", "Y"],
      other,
    );
    git(["push", "--quiet", "--force", "origin", "develop"], other);
    const head = git(["rev-parse", "HEAD"], checkout);
    const before = refsOf(remote);
    const result = await runCli(["bump", "hello", "90-develop"], { cwd: checkout });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("'develop' diverged from a rewritten upstream (force-push?)");
    expect(result.stderr).toContain("git reset --hard origin/develop");
    expect(result.stderr).not.toContain("Push or drop them first");
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(head);
    expect(refsOf(remote)).toBe(before);
    expect(status(checkout)).toBe("");
  });
});

describe("bump --dry-run in a working checkout", () => {
  it("plans against the upstream's tip, not a stale local HEAD, and leaves the checkout alone", async () => {
    const { remote, checkout } = freshCheckout();
    // Someone else bumps hello after the checkout was made.
    expect((await runCli(["bump", "hello", "90-develop", "--repo", remote])).code).toBe(0);
    const head = git(["rev-parse", "HEAD"], checkout);
    const result = await runCli(["bump", "hello", "91-develop", "--dry-run"], { cwd: checkout });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("-    tag: 90-develop\n+    tag: 91-develop\n");
    expect(result.stdout).toContain("dry run: hello 90-develop → 91-develop on develop");
    expect(result.stderr).toContain("the dry run plans against origin/develop");
    expect(git(["rev-parse", "HEAD"], checkout)).toBe(head);
    expect(status(checkout)).toBe("");

    // A lower build number than the upstream's is refused exactly as the real bump would refuse it.
    const refused = await runCli(["bump", "hello", "85-develop", "--dry-run"], { cwd: checkout });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("'90-develop'");
  });

  it("says that it plans against the local HEAD when the branch has no upstream", async () => {
    const { checkout } = freshCheckout();
    git(["branch", "--unset-upstream"], checkout);
    const result = await runCli(["bump", "hello", "92-develop", "--dry-run"], { cwd: checkout });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("has no upstream; the dry run plans against the checkout's HEAD");
    expect(status(checkout)).toBe("");
  });
});

describe("--template and the config repo stay inside their repos", () => {
  let serviceRepo: string;
  const outsideSecret = "-----BEGIN OPENSSH PRIVATE KEY----- not really";
  beforeAll(async () => {
    serviceRepo = path.join(root, "svc");
    await mkdir(path.join(serviceRepo, "deploy"), { recursive: true });
    git(["init", "--quiet"], serviceRepo);
    await writeFile(path.join(root, "id_ed25519"), `${outsideSecret}\n`);
    await writeFile(
      path.join(serviceRepo, "deploy/real.yaml.hbs"),
      "service: {{json service.name}}\nimage: {{json service.imageRef}}\n",
    );
    await symlink(path.join(root, "id_ed25519"), path.join(serviceRepo, "deploy/escape.yaml.hbs"));
    await symlink("real.yaml.hbs", path.join(serviceRepo, "deploy/inside.yaml.hbs"));
    await writeFile(path.join(serviceRepo, "deploy/esc.yaml.hbs"), "service: x\n\u001b]0;owned\u0007\n");
  });

  /** `sysconfig bump hello TAG --repo REMOTE --template TEMPLATE`, run in the service's repo. */
  const bumpWithTemplate = (remote: string, tag: string, template: string) =>
    runCli(["bump", "hello", tag, "--repo", remote, "--template", template], { cwd: serviceRepo });

  it("refuses a template that is a symlink out of the service's repo (exit 3) and prints nothing of it", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bumpWithTemplate(remote, "61-develop", "deploy/escape.yaml.hbs");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("deploy/escape.yaml.hbs refused: it is a symlink");
    expect(result.stderr).toContain("leading outside the repo");
    expect(`${result.stdout}${result.stderr}`).not.toContain(outsideSecret);
    expect(refsOf(remote)).toBe(before);
  });

  it.each([
    ["an absolute path outside the service's repo", () => path.join(root, "id_ed25519")],
    ["a relative path climbing out of it", () => "../id_ed25519"],
    ["a path into its .git", () => ".git/config"],
  ])("refuses --template as %s (exit 3) and prints nothing of the file", async (_what, template) => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const result = await bumpWithTemplate(remote, "65-develop", template());
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/refused: it (climbs out of the repo|leads into the repo's \.git)/);
    expect(result.stderr).toContain("the service's repository");
    expect(`${result.stdout}${result.stderr}`).not.toContain(outsideSecret);
    expect(`${result.stdout}${result.stderr}`).not.toContain("[core]");
    expect(refsOf(remote)).toBe(before);
  });

  it("quotes at most a short, escaped excerpt of a template whose render the target refuses", async () => {
    const remote = freshRemote();
    const lines = Array.from({ length: 40 }, (_, i) => `secret${i}: hash-${i}-Zq8`);
    await writeFile(path.join(serviceRepo, "deploy/keys.yaml.hbs"), `${lines.join("\n")}\n`);
    const result = await bumpWithTemplate(remote, "66-develop", "deploy/keys.yaml.hbs");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("unknown keys");
    expect(result.stderr).toMatch(/and 3\d more/);
    const quoted = lines.filter((line) => result.stderr.includes(`"${line.split(":")[0] ?? ""}"`));
    expect(quoted.length).toBeLessThanOrEqual(3);
    expect(result.stderr).not.toContain("hash-39-Zq8");
    expect(result.stderr.length).toBeLessThan(2000);
  });

  it("takes a symlink that stays inside the service's repo", async () => {
    const remote = freshRemote();
    const result = await bumpWithTemplate(remote, "62-develop", "deploy/inside.yaml.hbs");
    expect(result.code).toBe(0);
    expect(fileAt(remote, "develop", "templates/hello.docker.hbs")).toContain(
      "service: {{json service.name}}",
    );
  });

  it("refuses control characters in the template's text or path (exit 3)", async () => {
    const remote = freshRemote();
    const before = refsOf(remote);
    const text = await bumpWithTemplate(remote, "63-develop", "deploy/esc.yaml.hbs");
    expect(text.code).toBe(3);
    expect(text.stderr).toContain(
      'deploy/esc.yaml.hbs:2: the template holds the control character "\\u001b"',
    );
    expect(text.stderr).not.toContain("\u001b");
    const name = await bumpWithTemplate(remote, "63-develop", "deploy/real.yaml.hbs\n");
    expect(name.code).toBe(3);
    expect(name.stderr).toContain("the path holds control characters");
    expect(refsOf(remote)).toBe(before);
  });

  it("refuses a config repo whose templates/ is a symlink out of it, writing nothing there", async () => {
    const outside = path.join(root, "outside-templates");
    await mkdir(outside);
    const repo = path.join(root, "symlinked-config");
    git(["clone", "--quiet", "--branch", "develop", "--", work, repo]);
    await symlink(outside, path.join(repo, "templates-link"));
    git(["rm", "--quiet", "-r", "templates"], repo);
    await symlink("templates-link", path.join(repo, "templates"));
    git(["add", "templates", "templates-link"], repo);
    git(["commit", "--quiet", "-m", "symlinked templates"], repo);
    const remote = bareClone(repo, path.join(root, "symlinked.git"));
    const before = refsOf(remote);
    const result = await bumpWithTemplate(remote, "64-develop", "deploy/real.yaml.hbs");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      "templates/hello.docker.hbs refused: it is a symlink, or goes through one, leading outside the repo",
    );
    expect(existsSync(path.join(outside, "hello.docker.hbs"))).toBe(false);
    expect(refsOf(remote)).toBe(before);
    expect(await readFile(path.join(root, "id_ed25519"), "utf8")).toContain(outsideSecret);
  });
});
