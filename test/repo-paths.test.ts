// Every path that comes from the config or from the repo's content (sysconfig.yaml, a service's templates,
// rendered/ and everything in it) stays inside the config repo, symlinks included, for every command: else
// exit 3 naming it, with nothing read from outside printed and nothing written or deleted. Real git checkouts
// made by `sysconfig init`, the built CLI.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { ROOT, runCli, type CliResult } from "./helpers/cli.js";
import { cloneOf, commitAll, initExample, setOwnTemplate } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let work: string;
let cleanup: () => Promise<void>;
const SECRET = "ci-runner-secret-7f3a9c";
let secretFile: string;
let victimDir: string;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-repo-paths-"));
  work = await initExample(root);
  secretFile = path.join(root, "secret.txt");
  await writeFile(secretFile, `${SECRET}\n`);
  victimDir = path.join(root, "someone-elses");
  await mkdir(victimDir);
  await writeFile(path.join(victimDir, "important.conf"), "keep me\n");
});
afterAll(() => cleanup());

const checkout = (branch?: string): string => cloneOf(work, root, branch);

/** Every command that reads the repo's content: each must refuse (exit 3). */
const COMMANDS: readonly (readonly string[])[] = [
  ["validate"],
  ["render"],
  ["render", "--check"],
  ["plan", "--endpoint", "unix:///nonexistent/docker.sock"],
  ["reconcile", "--dry-run", "--endpoint", "unix:///nonexistent/docker.sock"],
  ["build", "--dry-run", "--image", "127.0.0.1:5000/acme/sysconfig"],
];

async function everyCommand(dir: string): Promise<{ args: string; result: CliResult }[]> {
  const results = [];
  for (const args of COMMANDS) {
    results.push({ args: args.join(" "), result: await runCli([...args, "--repo", dir]) });
  }
  return results;
}

function expectRefusedEverywhere(
  results: { args: string; result: CliResult }[],
  named: string | RegExp,
): void {
  for (const { args, result } of results) {
    const output = `${result.stdout}${result.stderr}`;
    expect({ args, code: result.code }).toEqual({ args, code: 3 });
    if (typeof named === "string") expect(result.stderr).toContain(named);
    else expect(result.stderr).toMatch(named);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain("    at ");
  }
}

describe("rendered/ stays inside the config repo", () => {
  it("refuses a rendered/ that is a symlink to a directory elsewhere, in every command, and deletes nothing there", async () => {
    const dir = checkout();
    await rm(path.join(dir, "rendered"), { recursive: true });
    await symlink(victimDir, path.join(dir, "rendered"));
    commitAll(dir);
    const results = await everyCommand(dir);
    expectRefusedEverywhere(
      results,
      `rendered refused: it is a symlink, or goes through one, leading outside`,
    );
    expect((await readdir(victimDir)).sort()).toEqual(["important.conf"]);
    expect(await readFile(path.join(victimDir, "important.conf"), "utf8")).toBe("keep me\n");
  });

  it("refuses a rendered file that is a symlink out of the repo: render --check never prints it, render never writes through it", async () => {
    const dir = checkout();
    await rm(path.join(dir, "rendered/hello.yaml"));
    await symlink(secretFile, path.join(dir, "rendered/hello.yaml"));
    commitAll(dir);
    expectRefusedEverywhere(await everyCommand(dir), "rendered/hello.yaml refused");
    expect(await readFile(secretFile, "utf8")).toBe(`${SECRET}\n`);
  });

  it("refuses a symlink in rendered/ that no service renders, when it leads out (never deleted through)", async () => {
    const dir = checkout();
    await symlink(secretFile, path.join(dir, "rendered/extra.yaml"));
    const render = await runCli(["render", "--repo", dir]);
    expect(render.code).toBe(3);
    expect(render.stderr).toContain("rendered/extra.yaml refused");
    expect(await readFile(secretFile, "utf8")).toBe(`${SECRET}\n`);
  });

  it("refuses a rendered/ that leads into the repo's own .git", async () => {
    const dir = checkout();
    await rm(path.join(dir, "rendered"), { recursive: true });
    await symlink(".git/hooks", path.join(dir, "rendered"));
    const hooksBefore = (await readdir(path.join(dir, ".git/hooks"))).sort();
    const render = await runCli(["render", "--repo", dir]);
    expect(render.code).toBe(3);
    expect(render.stderr).toContain("leads into the repo's .git directory");
    expect((await readdir(path.join(dir, ".git/hooks"))).sort()).toEqual(hooksBefore);
  });

  it("still takes symlinks that stay inside the repo", async () => {
    const dir = checkout();
    // hello's own docker template: a symlink to a copy of the built-in one inside the repo.
    const builtin = await readFile(path.join(ROOT, "templates/docker/container.yaml.hbs"), "utf8");
    await writeFile(path.join(dir, "templates/common.docker.hbs"), builtin);
    await symlink("common.docker.hbs", path.join(dir, "templates/hello.docker.hbs"));
    await setOwnTemplate(dir, "hello", "docker", "templates/hello.docker.hbs");
    const check = await runCli(["render", "--check", "--repo", dir]);
    expect(check.code).toBe(0);
    expect((await runCli(["validate", "--repo", dir])).code).toBe(0);
  });
});

describe("a service's templates stay inside the config repo", () => {
  it.each([
    ["an absolute path", () => secretFile, "it is an absolute path"],
    ["a path climbing out with ..", () => "../secret.txt", "it climbs out of the repo"],
  ])("refuses %s in every command, printing nothing of the file", async (_, template, reason) => {
    const dir = checkout();
    await setOwnTemplate(dir, "hello", "docker", template());
    commitAll(dir);
    const results = await everyCommand(dir);
    expectRefusedEverywhere(results, `services.hello.templates.docker: ${template()} refused: ${reason}`);
  });

  it("refuses a template that is a symlink out of the repo, printing nothing of it", async () => {
    const dir = checkout();
    await symlink(secretFile, path.join(dir, "templates/evil.hbs"));
    await setOwnTemplate(dir, "hello", "docker", "templates/evil.hbs");
    commitAll(dir);
    expectRefusedEverywhere(
      await everyCommand(dir),
      "services.hello.templates.docker: templates/evil.hbs refused: it is a symlink, or goes through one, leading outside",
    );
  });

  it("refuses a template of another environment's kind too (validate renders every environment)", async () => {
    const dir = checkout();
    await setOwnTemplate(dir, "hello", "fleet", "../secret.txt");
    const result = await runCli(["validate", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("services.hello.templates.fleet: ../secret.txt refused");
    expect(`${result.stdout}${result.stderr}`).not.toContain(SECRET);
  });
});

describe("sysconfig.yaml stays inside the config repo", () => {
  it("refuses a sysconfig.yaml that is a symlink out of the repo, in every command", async () => {
    const dir = checkout();
    const outside = path.join(root, `outside-${path.basename(dir)}.yaml`);
    await writeFile(outside, await readFile(path.join(dir, "sysconfig.yaml"), "utf8"));
    await rm(path.join(dir, "sysconfig.yaml"));
    await symlink(outside, path.join(dir, "sysconfig.yaml"));
    commitAll(dir);
    expectRefusedEverywhere(await everyCommand(dir), "sysconfig.yaml refused");
  });
});
