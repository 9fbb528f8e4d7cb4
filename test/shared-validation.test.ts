// validate refuses what plan refuses, and so do render, build and bump: a dependsOn cycle and a service's
// own template rendering a spec the target cannot take (image: 42). render refuses to fill another
// environment's branch with this environment's files unless asked. Real git repos, the built CLI.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../reconciler/config/load.js";
import { findStale } from "../reconciler/render/compare.js";
import { renderAll } from "../reconciler/render/render.js";
import { writeRendered } from "../reconciler/render/write.js";
import { runCli } from "./helpers/cli.js";
import {
  bareClone,
  cloneOf,
  commitAll,
  fileAt,
  git,
  initExample,
  refsOf,
  setOwnTemplate,
} from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let work: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-shared-validation-"));
  work = await initExample(root);
});
afterAll(() => cleanup());

const checkout = (branch?: string): string => cloneOf(work, root, branch);

async function editConfig(dir: string, edit: (text: string) => string): Promise<void> {
  const file = path.join(dir, "sysconfig.yaml");
  await writeFile(file, edit(await readFile(file, "utf8")));
}

const PLAN = ["plan", "--endpoint", "unix:///nonexistent/docker.sock"];
const BAD_SPEC = "service: {{json service.name}}\nimage: 42\n";

describe("one validation for validate, render, build and plan", () => {
  it("refuses a dependsOn cycle in each (exit 3), naming the cycle", async () => {
    const dir = checkout();
    await editConfig(dir, (t) => t.replace("\n  hello:\n", "\n  hello:\n    dependsOn: [worker]\n"));
    // A committed, re-rendered state (written by the library: render itself refuses the cycle), so only
    // the cycle is wrong: build and validate took it before.
    const config = await loadConfig(dir);
    await writeRendered(dir, await findStale(dir, await renderAll(dir, config, "develop")));
    commitAll(dir);
    for (const args of [["validate"], ["render"], ["render", "--check"], ["build", "--dry-run"], PLAN]) {
      const result = await runCli([...args, "--repo", dir]);
      expect({ args, code: result.code }).toEqual({ args, code: 3 });
      expect(result.stderr).toContain("services dependsOn has a cycle: hello → worker → hello");
    }
  });

  it("refuses a service's own template that renders an invalid docker spec (image: 42), writing nothing", async () => {
    const dir = checkout();
    await writeFile(path.join(dir, "templates/bad.docker.hbs"), BAD_SPEC);
    await setOwnTemplate(dir, "hello", "docker", "templates/bad.docker.hbs");
    const committed = await readFile(path.join(dir, "rendered/hello.yaml"), "utf8");
    for (const args of [["validate"], ["render"], ["render", "--check"]]) {
      const result = await runCli([...args, "--repo", dir]);
      expect({ args, code: result.code }).toEqual({ args, code: 3 });
      expect(result.stderr).toContain("rendered/hello.yaml is not a valid docker container spec");
      expect(result.stderr).toContain("image: Invalid input: expected string, received number");
    }
    expect(await readFile(path.join(dir, "rendered/hello.yaml"), "utf8")).toBe(committed);
  });

  it("refuses that spec in build and plan too, once it is committed", async () => {
    const dir = checkout();
    await writeFile(path.join(dir, "templates/bad.docker.hbs"), BAD_SPEC);
    await setOwnTemplate(dir, "hello", "docker", "templates/bad.docker.hbs");
    await writeFile(path.join(dir, "rendered/hello.yaml"), 'service: "hello"\nimage: 42\n');
    commitAll(dir);
    for (const args of [["build", "--dry-run"], PLAN]) {
      const result = await runCli([...args, "--repo", dir]);
      expect({ args, code: result.code }).toEqual({ args, code: 3 });
      expect(result.stderr).toContain("rendered/hello.yaml is not a valid docker container spec");
    }
  });
});

describe("bump refuses what plan refuses", () => {
  it("refuses --template FILE rendering an invalid spec (exit 3) and pushes nothing", async () => {
    const remote = bareClone(work, path.join(root, "bump-bad.git"));
    const serviceRepo = path.join(root, "svc");
    await mkdir(serviceRepo, { recursive: true });
    git(["init", "--quiet"], serviceRepo);
    await writeFile(path.join(serviceRepo, "bad.yaml.hbs"), BAD_SPEC);
    const before = refsOf(remote);
    const result = await runCli(
      ["bump", "hello", "2-develop", "--repo", remote, "--template", "bad.yaml.hbs"],
      {
        cwd: serviceRepo,
      },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("rendered/hello.yaml is not a valid docker container spec");
    expect(result.stderr).toContain("Nothing was committed");
    expect(refsOf(remote)).toBe(before);
    expect(fileAt(remote, "develop", "sysconfig.yaml")).not.toContain("bad");
  });

  it("refuses a bump into a config whose dependsOn has a cycle (exit 3)", async () => {
    const dir = checkout();
    await editConfig(dir, (t) => t.replace("\n  hello:\n", "\n  hello:\n    dependsOn: [worker]\n"));
    commitAll(dir);
    const remote = bareClone(dir, path.join(root, "bump-cycle.git"));
    const before = refsOf(remote);
    const result = await runCli(["bump", "hello", "2-develop", "--repo", remote]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("services dependsOn has a cycle");
    expect(refsOf(remote)).toBe(before);
  });
});

describe("render --environment on another environment's branch", () => {
  it("refuses to replace develop's rendered/ with staging's files (exit 3) and says how to override", async () => {
    const dir = checkout("develop");
    const result = await runCli(["render", "--repo", dir, "--environment", "staging"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("is checked out on develop, the branch of environment develop");
    expect(result.stderr).toContain("--any-branch");
    expect(git(["status", "--porcelain"], dir)).toBe("");
  });

  it("renders it with --any-branch, and on a branch that is no environment without it", async () => {
    const dir = checkout("develop");
    const forced = await runCli(["render", "--repo", dir, "--environment", "staging", "--any-branch"]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain("wrote rendered/hello.service");
    const feature = checkout("develop");
    git(["switch", "--quiet", "-c", "feature-x"], feature);
    const onFeature = await runCli(["render", "--repo", feature, "--environment", "staging"]);
    expect(onFeature.code).toBe(0);
  });
});
