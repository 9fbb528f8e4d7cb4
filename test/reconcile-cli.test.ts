import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { appendFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
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

  it("rejects --target kubernetes outside a pod without a readable kubeconfig, naming the file", async () => {
    const result = await runCli(
      ["plan", "--repo", dir, "--environment", "develop", "--target", "kubernetes"],
      { env: { KUBECONFIG: "/nonexistent/kubeconfig", KUBERNETES_SERVICE_HOST: "" } },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/kubernetes kubeconfig \/nonexistent\/kubeconfig cannot be read: ENOENT/);
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
      // --output json: the error as one JSON document on stdout (the readable message stays on stderr).
      const doc = JSON.parse(result.stdout) as {
        error: { exitCode: number; class: string; message: string };
      };
      expect(doc.error).toMatchObject({ exitCode: 3, class: "InvalidInputError" });
      expect(doc.error.message).toMatch(/sysconfig\.yaml.*name: expected/s);
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

// The command's own behaviour (text vs JSON, exit codes 0/2/4, second run no-op) through the real
// fleet target against the in-process fake fleetd.
describe("sysconfig plan / reconcile against a fleet API", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fleet: FakeFleetServer;
  const run = (...args: string[]) =>
    runCli([...args, "--repo", dir, "--environment", "staging", "--endpoint", fleet.endpoint]);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("sysconfig-reconcile-fleet-"));
    fleet = await startFleetServer({ transitionMs: 0 });
    await writeConfigRepo(
      dir,
      "clitest",
      { hello: { env: { API_TOKEN: "t0ps3cret" } }, worker: { instances: 2 } },
      "staging",
    );
  });
  afterAll(async () => {
    await fleet.close();
    await cleanup();
  });

  it("plans (exit 0, or 2 with --exit-code), reconciles, and then has nothing to do", async () => {
    const plan = await run("plan");
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^\+ create fleet:hello\.service$/m);
    expect(plan.stdout).toMatch(/Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged, 0 unmanaged\./);
    expect((await run("plan", "--exit-code")).code).toBe(2);
    expect((await run("reconcile", "--dry-run", "--exit-code")).code).toBe(2);

    const applied = await run("reconcile", "--timeout", "20");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(
      /Result: 4 healthy, 0 applied, 0 unhealthy, 0 failed, 0 skipped, 0 refused\./,
    );
    expect(applied.stdout + applied.stderr).not.toContain("t0ps3cret");

    const again = await run("plan", "--exit-code", "--output", "json");
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout) as { summary: Record<string, number>; target: { kind: string } };
    expect(doc.summary).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 4 });
    expect(doc.target.kind).toBe("fleet");
    const second = await run("reconcile", "--output", "json");
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as { result: { changes: unknown[] } }).result.changes).toEqual([]);
  });

  it("refuses a mass delete with exit 4, printing the plan and the rule as JSON", async () => {
    await writeConfigRepo(dir, "clitest", { hello: { env: { API_TOKEN: "t0ps3cret" } } }, "staging");
    const refused = await run("reconcile", "--output", "json");
    expect(refused.code).toBe(4);
    const doc = JSON.parse(refused.stdout) as { refused: { rule: string }; summary: { delete: number } };
    expect(doc.refused.rule).toBe("max-delete");
    expect(doc.summary.delete).toBe(3);
    expect(refused.stderr).toMatch(/pass --max-delete 3 or --allow-mass-delete/);
    expect(fleet.units.size).toBe(4);
    const allowed = await run("reconcile", "--max-delete", "3");
    expect(allowed.code).toBe(0);
    expect(fleet.units.size).toBe(1);
  });
});
