// "Converged means healthy" on fleet, through the real pipeline against the test fleetd: a unit with the
// desired unit file that failed, or that no machine took, is not "unchanged"; reconcile waits for it,
// exits 1 while it stays so, and destroys nothing meanwhile — across runs.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import path from "node:path";
import { RuntimeFailureError } from "../reconciler/errors.js";
import { runReconcile, type ReconcileOutcome } from "../reconciler/pipeline/reconcile.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createFleetTarget, type FleetTargetConfig } from "../reconciler/targets/fleet/target.js";
import { writeFleetRepo, type FleetRepoSpec } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { tempDir } from "./helpers/tmp.js";

let server: FakeFleetServer;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-fleet-health-"));
  // Four machines: the template's Conflicts=worker@*.service places at most four instances.
  server = await startFleetServer({ socketPath: path.join(dir, "fleet.sock"), machines: 4 });
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

const repo = () => path.join(dir, "repo");
/** One system per test: each test's units are another system's (unmanaged) for the next. */
let system = "shop";
const write = (services: FleetRepoSpec["services"]) =>
  writeFleetRepo(repo(), { name: system, endpoint: server.endpoint, services });

function reconcile(planOnly = false): Promise<ReconcileOutcome> {
  return runReconcile(
    {
      repo: repo(),
      environment: "staging",
      planOnly,
      guard: { allowMassDelete: false },
      wait: true,
      timeoutSeconds: 1,
      waitLock: false,
      lockOwner: "fleet-converge-health.test",
    },
    {
      createTarget: (config, opts) =>
        Promise.resolve(
          createFleetTarget(config as FleetTargetConfig, opts, {
            pollMs: 10,
            backoffMs: 5,
            lock: { ttlMs: 60_000, settleMs: 20, pollMs: 20 },
          }),
        ),
      reporter: silentReporter,
      env: {},
    },
  );
}

const change = (outcome: ReconcileOutcome, subject: string) =>
  outcome.changeSet.changes.find((c) => c.subject === subject);

describe("fleet: converged means healthy", () => {
  it("renames web → web2 whose unit fails: run 2 shows web2 unhealthy and keeps web; healed, run 3 destroys web", async () => {
    await write({ web: {} });
    await reconcile();
    server.failUnit("web2.service");
    try {
      await write({ web2: {} });
      await expect(reconcile()).rejects.toThrow(RuntimeFailureError);
      expect(server.units.has("web.service")).toBe(true);

      // Run 2: web2 holds the desired unit file but failed on its machine.
      const planned = await reconcile(true);
      expect(change(planned, "fleet:web2.service")).toMatchObject({
        action: "unhealthy",
        actual: {
          health: { state: "unhealthy", reason: expect.stringMatching(/^failed to start: machine/) },
        },
      });
      expect(change(planned, "fleet:web.service")?.notes.join()).toMatch(/^held back: 1 desired object/);
      const run2 = reconcile();
      await expect(run2).rejects.toThrow(/fleet:web2\.service \(unhealthy: failed to start/);
      await expect(run2).rejects.toThrow(/fleet:web\.service \(skipped: not pruned/);
      expect(server.units.has("web.service")).toBe(true);
    } finally {
      server.healUnit("web2.service");
    }
    // Healed: web2 is active, so the delete of web runs at last.
    const run3 = await reconcile();
    expect(run3.results?.map((r) => `${r.subject} ${r.status}`)).toContain("fleet:web.service applied");
    expect(server.units.has("web.service")).toBe(false);
    const after = await reconcile(true);
    expect(after.changeSet.changes.map((c) => c.action)).toEqual(["unchanged"]);
  });

  it("shows an instance no machine can take as not converged on every run (no silent 'unchanged')", async () => {
    system = "plant";
    await write({ worker: { instances: 5 } });
    await expect(reconcile()).rejects.toThrow(/fleet:worker@5\.service \(unhealthy: not healthy within/);
    const planned = await reconcile(true);
    expect(change(planned, "fleet:worker@5.service")).toMatchObject({
      action: "unhealthy",
      actual: {
        health: { state: "progressing", reason: expect.stringMatching(/^not scheduled to any machine/) },
      },
    });
    expect(change(planned, "fleet:worker@4.service")?.action).toBe("unchanged");
    await expect(reconcile()).rejects.toThrow(/fleet:worker@5\.service \(unhealthy/);
    await write({ worker: { instances: 4 } });
    await reconcile();
  });
});
