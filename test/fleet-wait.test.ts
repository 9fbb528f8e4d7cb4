// Waiting for fleet units through the engine's shared watcher: one walk of /fleet/v1/state per poll
// for every unit waited on, units no machine can take reported while waiting, and a whole level sent
// before it is waited for — against the fake fleetd, on its immediate and its realistic clock.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import path from "node:path";
import { applyChanges } from "../reconciler/apply/engine.js";
import type { Change } from "../reconciler/model.js";
import { runReconcile } from "../reconciler/pipeline/reconcile.js";
import { silentReporter, type Reporter } from "../reconciler/report/reporter.js";
import {
  createFleetTarget,
  type FleetTargetConfig,
  type FleetTuning,
} from "../reconciler/targets/fleet/target.js";
import type { UnitOption } from "../reconciler/targets/fleet/unit-file.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { unitHash } from "./fleet-server/wire.js";
import { tempDir } from "./helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-fleet-wait-"));
});
afterAll(() => cleanup());

function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), debug: () => undefined };
}

function unitChange(name: string, extra: UnitOption[] = []): Change {
  const options = [{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 3000" }, ...extra];
  return {
    action: "create",
    subject: `fleet:${name}`,
    notes: [],
    desired: {
      subject: `fleet:${name}`,
      name,
      service: name.replace(/\.service$/, ""),
      text: "",
      hash: name,
      dependsOn: [],
      spec: { options, desiredState: "launched", fleetHash: unitHash(options), template: false },
    },
  };
}

describe("a fleet unit no machine can take", () => {
  let server: FakeFleetServer;
  beforeAll(async () => {
    server = await startFleetServer({ socketPath: path.join(dir, "immediate.sock") });
  });
  afterAll(() => server.close());

  it("is reported while waiting, through the reporter, and its unhealthy reason says why", async () => {
    const tuning: Partial<FleetTuning> = { pollMs: 20, healthPollMaxMs: 100, unscheduledAfterMs: 600 };
    const target = createFleetTarget(
      { kind: "fleet", endpoint: server.endpoint },
      { reporter: silentReporter, env: {} },
      tuning,
    );
    const reporter = recorder();
    const mars = unitChange("mars.service", [
      { section: "X-Fleet", name: "MachineMetadata", value: "region=mars" },
    ]);
    const results = await applyChanges(target, [mars, unitChange("earth.service")], {
      system: "shop",
      revision: "r",
      reporter,
      levels: new Map(),
      parallelism: 4,
      wait: true,
      timeoutMs: 2_000,
      reportPendingAfterMs: 0,
    });
    await target.close();
    const hint = "check its [X-Fleet] Conflicts/MachineMetadata against `fleetctl list-machines`";
    // said while waiting, well before --timeout
    const said = reporter.lines.findIndex((l) => l.includes("no machine has taken it after"));
    expect(reporter.lines[said]).toMatch(
      /^\+ create fleet:mars\.service: waiting \((0\.[6-9]|1(\.\d)?) s\): no machine has taken it after 1 s: check its \[X-Fleet\]/,
    );
    expect(reporter.lines[said]).toContain(hint);
    expect(said).toBeLessThan(reporter.lines.findIndex((l) => l.includes("mars.service: unhealthy")));
    expect(results.map((r) => [r.subject, r.status])).toEqual([
      ["fleet:mars.service", "unhealthy"],
      ["fleet:earth.service", "healthy"],
    ]);
    expect(results[0]?.reason).toMatch(
      /^not healthy within --timeout \(2 s\); last seen: no machine has taken it after 2 s: /,
    );
    expect(results[0]?.reason).toContain(hint);
    expect(server.units.get("mars.service")?.machineID).toBe("");
  });
});

describe("a level of fleet units on fleetd's own clock (engine pass every 2 s)", () => {
  let server: FakeFleetServer;
  beforeAll(async () => {
    server = await startFleetServer({ socketPath: path.join(dir, "realistic.sock"), realistic: {} });
  });
  afterAll(() => server.close());

  it("sends every unit, then confirms them all through a few walks of /state, faster than eight at a time could", async () => {
    const repo = path.join(dir, "repo");
    const services = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`svc${String(i).padStart(2, "0")}`, {}]),
    );
    await writeFleetRepo(repo, { name: "shop", endpoint: server.endpoint, services });
    server.resetCounts();
    const started = Date.now();
    const outcome = await runReconcile(
      {
        repo,
        environment: "staging",
        planOnly: false,
        guard: { allowMassDelete: false },
        wait: true,
        timeoutSeconds: 30,
        waitLock: false,
        lockOwner: "fleet-wait.test",
      },
      {
        createTarget: (config, options) =>
          Promise.resolve(
            createFleetTarget(config as FleetTargetConfig, options, {
              lock: { ttlMs: 60_000, settleMs: 20, pollMs: 20 },
            }),
          ),
        reporter: silentReporter,
        env: {},
      },
    );
    const took = Date.now() - started;
    expect(outcome.results?.filter((r) => r.status === "healthy")).toHaveLength(40);
    // Each unit is active 1-5 s after its PUT; eight in flight, each waited for, took ≥ 5 rounds of that.
    expect(took).toBeLessThan(9_000);
    const puts = server.log.filter((l) => l.startsWith("PUT ") && !l.includes("sysconfig-lock-"));
    expect(puts).toHaveLength(40);
    const statePolls = server.log.filter((l) => l.startsWith("GET /fleet/v1/state")).length;
    expect(statePolls).toBeLessThanOrEqual(15); // one page each here (40 units), plus the plan's read
    expect(server.log.filter((l) => l.includes("unitName="))).toEqual([]);
  }, 30_000);
});
