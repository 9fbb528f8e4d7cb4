// The target's reads start while the desired state is rendered and checked (a no-op costs max(local
// work, reads), not their sum); a config error still ends the run with exit 3 and abandons them cleanly.
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { InvalidInputError } from "../reconciler/errors.js";
import { runReconcile, type ReconcileRequest } from "../reconciler/pipeline/reconcile.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createFleetTarget, type FleetTargetConfig } from "../reconciler/targets/fleet/target.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { tempDir } from "./helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;
let server: FakeFleetServer;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-overlap-"));
  server = await startFleetServer({ transitionMs: 0 });
  await writeFleetRepo(dir, { name: "overlap", endpoint: server.endpoint, services: { web: {}, api: {} } });
});
afterEach(async () => {
  await server.close();
  await cleanup();
});

const request = (planOnly: boolean): ReconcileRequest => ({
  repo: dir,
  environment: "staging",
  planOnly,
  guard: { allowMassDelete: false },
  wait: true,
  timeoutSeconds: 30,
  waitLock: false,
  lockOwner: "overlap test",
});

const deps = () => ({
  createTarget: (config: unknown, options: Parameters<typeof createFleetTarget>[1]) =>
    Promise.resolve(createFleetTarget(config as FleetTargetConfig, options)),
  reporter: silentReporter,
  env: {},
});

describe("reads overlapped with rendering", () => {
  it("a no-op plan reads /units and /state once each: the reads started before rendering are the ones used", async () => {
    await runReconcile(request(false), deps());
    server.log = [];
    const outcome = await runReconcile(request(true), deps());
    expect(outcome.changeSet.changes.map((c) => c.action)).toEqual(["unchanged", "unchanged"]);
    expect([...server.log].sort()).toEqual(["GET /fleet/v1/state", "GET /fleet/v1/units"]);
  });

  it("the reads start before the services are parsed: a service the schema refuses exits 3, the early target is closed, nothing written", async () => {
    // 400 services: parsing and checking them takes a while, as a real system's do.
    const services = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`svc${i}`, {}]));
    await writeFleetRepo(dir, { name: "overlap", endpoint: server.endpoint, services });
    await appendFile(path.join(dir, "sysconfig.yaml"), "    unknownKey: 1\n"); // under the last service
    server.delayMs = 4000;
    const created: string[] = [];
    const closed: string[] = [];
    const prefetched: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const started = Date.now();
      const error = await runReconcile(request(false), {
        ...deps(),
        createTarget: (config, options) => {
          created.push(config.kind);
          const target = createFleetTarget(config as FleetTargetConfig, options);
          const close = target.close.bind(target);
          target.close = () => (closed.push(config.kind), close());
          const prefetch = target.prefetchActual?.bind(target);
          target.prefetchActual = (system) => (prefetched.push(system), prefetch?.(system));
          return Promise.resolve(target);
        },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).toMatch(/unknownKey/);
      expect(Date.now() - started).toBeLessThan(3500);
      // Created from the head of sysconfig.yaml, its reads started, before the services were parsed (the
      // in-process server cannot log the request while the parse holds the event loop: the benchmark
      // bench/reconcile-fleet.ts, with fleetd in its own process, shows the overlap on the wire).
      expect(created).toEqual(["fleet"]);
      expect(prefetched).toEqual(["overlap"]);
      expect(closed).toEqual(["fleet"]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
      expect(server.log.filter((l) => !l.startsWith("GET "))).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("a sysconfig.yaml without a block-style services key (JSON) gives no head: the reads start after the parse, and the plan is the same", async () => {
    await runReconcile(request(false), deps());
    const file = path.join(dir, "sysconfig.yaml");
    await writeFile(file, JSON.stringify(parse(await readFile(file, "utf8"))));
    server.log = [];
    const outcome = await runReconcile(request(true), deps());
    expect(outcome.changeSet.changes.map((c) => c.action)).toEqual(["unchanged", "unchanged"]);
    expect([...server.log].sort()).toEqual(["GET /fleet/v1/state", "GET /fleet/v1/units"]);
  });

  it("a stale rendered/ exits 3 while the list read is in flight, abandons it without an unhandled rejection, and writes nothing", async () => {
    await appendFile(path.join(dir, "rendered", "web.service"), "# edited by hand\n");
    server.delayMs = 4000; // the lists answer long after rendering has failed
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const started = Date.now();
      const error = await runReconcile(request(false), deps()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).toMatch(/rendered\/web\.service \(stale\)/);
      expect(Date.now() - started).toBeLessThan(3500); // did not wait for the abandoned read
      expect(server.log.some((l) => l.startsWith("GET /fleet/v1/units"))).toBe(true); // it had started
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
      expect(server.log.filter((l) => !l.startsWith("GET "))).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
