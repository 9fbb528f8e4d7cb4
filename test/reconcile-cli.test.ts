import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { appendFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli } from "./helpers/cli.js";
import { writeConfigRepo } from "./helpers/config-repo.js";
import { tempDir } from "./helpers/tmp.js";

// Exit codes for invalid input: none of these reach a target, so no service is needed.
describe("sysconfig plan / reconcile: invalid input exits 3", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("sysconfig-reconcile-cli-"));
    await writeConfigRepo(dir, "acme", { hello: {}, worker: { instances: 2, dependsOn: ["hello"] } });
  });
  afterAll(() => cleanup());

  it("rejects an unknown --target kind", async () => {
    const result = await runCli(["plan", "--repo", dir, "--environment", "develop", "--target", "nomad"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/nomad.*(fleet|choices)/s);
  });

  it("rejects an unknown environment, listing the known ones", async () => {
    const result = await runCli(["reconcile", "--repo", dir, "--environment", "prod"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /'prod' is not an environment of acme: sysconfig\.yaml lists develop, staging/,
    );
    expect(result.stdout).toBe("");
  });

  it("rejects the kubernetes target, which this version does not have", async () => {
    const result = await runCli([
      "plan",
      "--repo",
      dir,
      "--environment",
      "develop",
      "--target",
      "kubernetes",
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/kubernetes target is not available/);
  });

  it("rejects a directory that is neither baked nor a git checkout without --environment", async () => {
    const result = await runCli(["plan", "--repo", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/Pass --environment/);
  });

  it("rejects a broken config, naming the file and the path", async () => {
    const broken = await tempDir("sysconfig-reconcile-broken-");
    try {
      await writeFile(
        path.join(broken.dir, "sysconfig.yaml"),
        "name: Acme!\nimage: x\nenvironments: {}\nservices: {}\n",
      );
      const result = await runCli([
        "reconcile",
        "--repo",
        broken.dir,
        "--environment",
        "develop",
        "--output",
        "json",
      ]);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/sysconfig\.yaml.*name: expected/s);
      expect(result.stdout).toBe("");
    } finally {
      await broken.cleanup();
    }
  });

  it("rejects a stale rendered/ and says how to fix it", async () => {
    const stale = await tempDir("sysconfig-reconcile-stale-");
    try {
      await writeConfigRepo(stale.dir, "acme", { hello: {} });
      await appendFile(path.join(stale.dir, "rendered/hello.yaml"), "extra: true\n");
      const result = await runCli([
        "reconcile",
        "--repo",
        stale.dir,
        "--environment",
        "develop",
        "--dry-run",
      ]);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/rendered\/hello\.yaml \(stale\).*Run 'sysconfig render' and commit/);
    } finally {
      await stale.cleanup();
    }
  });

  it("rejects a negative --max-delete and --timeout", async () => {
    const a = await runCli(["plan", "--repo", dir, "--environment", "develop", "--max-delete", "-1"]);
    const b = await runCli(["reconcile", "--repo", dir, "--environment", "develop", "--timeout", "soon"]);
    expect([a.code, b.code]).toEqual([3, 3]);
  });

  it("takes flags from SYSCONFIG_<FLAG> environment variables", async () => {
    const result = await runCli(["plan", "--repo", dir], {
      env: { SYSCONFIG_ENVIRONMENT: "prod" },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/'prod' is not an environment/);
  });
});
