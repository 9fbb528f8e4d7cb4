// The fake fleetd itself, against the wire behaviour of fleetd v1.0.0 (DESIGN §6).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import path from "node:path";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { rawRequest } from "./fleet-server/raw-request.js";
import { encodePageToken, unitHash } from "./fleet-server/wire.js";
import { tempDir } from "./helpers/tmp.js";

const OPTIONS = [
  { section: "Unit", name: "Description", value: "web" },
  { section: "Service", name: "Environment", value: "" },
  { section: "Service", name: "ExecStart", value: "/usr/bin/sleep 3000" },
];
const put = (s: FakeFleetServer, name: string, body: unknown, headers?: Record<string, string>) =>
  rawRequest(s.endpoint, "PUT", `/fleet/v1/units/${name}`, JSON.stringify(body), headers);
const get = (s: FakeFleetServer, p: string) => rawRequest(s.endpoint, "GET", p);

describe("fake fleetd (v1.0.0 wire behaviour)", () => {
  let server: FakeFleetServer;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const tmp = await tempDir("sysconfig-fleetsrv-");
    cleanup = tmp.cleanup;
    server = await startFleetServer({ socketPath: path.join(tmp.dir, "fleet.sock") });
  });
  afterAll(async () => {
    await server.close();
    await cleanup();
  });

  it("returns {} for empty lists, with no units/states key", async () => {
    server.units.clear();
    expect((await get(server, "/fleet/v1/units")).text).toBe("{}");
    expect((await get(server, "/fleet/v1/state")).text).toBe("{}");
  });

  it("creates with 201, changes desiredState with 204, replaces different options with 201", async () => {
    server.units.clear();
    expect((await put(server, "web.service", { desiredState: "launched", options: OPTIONS })).status).toBe(
      201,
    );
    const created = (await get(server, "/fleet/v1/units/web.service")).json as Record<string, unknown>;
    expect(created).toMatchObject({
      name: "web.service",
      desiredState: "launched",
      currentState: "launched",
    });
    // Go's omitempty: the empty Environment= value has no "value" key on the wire
    expect((created.options as unknown[])[1]).toEqual({ name: "Environment", section: "Service" });
    expect((await put(server, "web.service", { desiredState: "loaded" })).status).toBe(204);
    expect((await put(server, "web.service", { desiredState: "loaded", options: OPTIONS })).status).toBe(204);
    const changed = [...OPTIONS, { section: "Service", name: "Restart", value: "always" }];
    expect((await put(server, "web.service", { options: changed })).status).toBe(201);
    const replaced = (await get(server, "/fleet/v1/units/web.service")).json as Record<string, unknown>;
    expect(replaced.desiredState).toBe("inactive"); // reset: desiredState was omitted
    expect((await put(server, "web.service", { options: changed })).status).toBe(409);
  });

  it("does not validate desiredState on update: a bad value corrupts the unit", async () => {
    await put(server, "bad.service", { desiredState: "launched", options: OPTIONS });
    expect((await put(server, "bad.service", { desiredState: "started" })).status).toBe(204);
    const unit = (await get(server, "/fleet/v1/units/bad.service")).json as Record<string, unknown>;
    expect(unit.desiredState).toBe("started");
    expect(unit.currentState).toBe("inactive");
  });

  it("refuses a PUT without Content-Type application/json (415), bad JSON (400), and the other 4xx cases", async () => {
    const body = JSON.stringify({ desiredState: "launched", options: OPTIONS });
    const none = await rawRequest(server.endpoint, "PUT", "/fleet/v1/units/x.service", body, {});
    expect(none.status).toBe(415);
    expect(none.json).toEqual({ error: { code: 415, message: "expected 1 Content-Type, got 0" } });
    const text = await rawRequest(server.endpoint, "PUT", "/fleet/v1/units/x.service", body, {
      "content-type": "text/plain",
    });
    expect(text.json).toEqual({
      error: { code: 415, message: "only acceptable Content-Type is application/json" },
    });
    const bad = await rawRequest(server.endpoint, "PUT", "/fleet/v1/units/x.service", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.headers["content-type"]).toBe("application/json");
    expect((bad.json as { error: { message: string } }).error.message).toMatch(/^unable to decode body: /);
    expect((await put(server, "x.service", { desiredState: "launched" })).json).toEqual({
      error: { code: 409, message: "unit does not exist and options field empty" },
    });
    expect((await put(server, "x.service", { name: "y.service", options: OPTIONS })).status).toBe(400);
    expect((await put(server, "x.bogus", { options: OPTIONS })).json).toEqual({
      error: { code: 400, message: 'invalid unit type: "bogus"' },
    });
    await put(server, "t@.service", { desiredState: "inactive", options: OPTIONS });
    expect((await put(server, "t@.service", { desiredState: "launched" })).json).toEqual({
      error: { code: 400, message: 'cannot activate template "t@.service"' },
    });
    expect((await get(server, "/fleet/v1/units/nope.service")).json).toEqual({
      error: { code: 404, message: "unit does not exist" },
    });
    expect((await rawRequest(server.endpoint, "DELETE", "/fleet/v1/units/nope.service")).status).toBe(404);
    expect((await rawRequest(server.endpoint, "DELETE", "/fleet/v1/units/x.bogus")).status).toBe(404);
    expect((await rawRequest(server.endpoint, "POST", "/fleet/v1/units")).status).toBe(405);
    expect((await get(server, "/fleet/v1/nothing")).json).toEqual({ error: { code: 404, message: "" } });
  });

  it("pages lists by nextPageToken (fleet's base64 little-endian token) and rejects bad tokens with 400", async () => {
    server.units.clear();
    for (let i = 0; i < 250; i++) {
      await put(server, `u${String(i).padStart(3, "0")}.service`, {
        desiredState: "launched",
        options: OPTIONS,
      });
    }
    const first = (await get(server, "/fleet/v1/units")).json as { units: unknown[]; nextPageToken: string };
    expect(first.units).toHaveLength(100);
    expect(first.nextPageToken).toBe(encodePageToken(100, 2));
    expect(first.nextPageToken).toBe("ZAACAA==");
    const third = (await get(server, `/fleet/v1/units?nextPageToken=${encodePageToken(100, 3)}`)).json as {
      units: unknown[];
      nextPageToken?: string;
    };
    expect(third.units).toHaveLength(50);
    expect(third.nextPageToken).toBeUndefined();
    const states = (await get(server, "/fleet/v1/state")).json as {
      states: unknown[];
      nextPageToken: string;
    };
    expect(states.states).toHaveLength(100);
    for (const token of ["garbage!", encodePageToken(50, 1), encodePageToken(100, 0)]) {
      const reply = await get(server, `/fleet/v1/units?nextPageToken=${token}`);
      expect(reply.status).toBe(400);
      expect((reply.json as { error: { code: number } }).error.code).toBe(400);
    }
    expect((await get(server, "/fleet/v1/units?nextPageToken=a&nextPageToken=b")).status).toBe(400);
  });

  it("reports unit state with the unit file's SHA-1, systemd states and machine, filtered by unitName/machineID", async () => {
    server.units.clear();
    await put(server, "a.service", { desiredState: "launched", options: OPTIONS });
    await put(server, "b.service", { desiredState: "loaded", options: OPTIONS });
    await put(server, "c.service", { desiredState: "inactive", options: OPTIONS });
    const all = (await get(server, "/fleet/v1/state")).json as { states: Record<string, string>[] };
    expect(all.states.map((s) => s.name)).toEqual(["a.service", "b.service"]);
    const a = all.states[0] ?? {};
    expect(a).toMatchObject({
      hash: unitHash(OPTIONS),
      systemdLoadState: "loaded",
      systemdActiveState: "active",
      systemdSubState: "running",
    });
    expect(all.states[1]).toMatchObject({ systemdActiveState: "inactive", systemdSubState: "dead" });
    const one = (await get(server, "/fleet/v1/state?unitName=b.service")).json as { states: unknown[] };
    expect(one.states).toHaveLength(1);
    const byMachine = (await get(server, `/fleet/v1/state?machineID=${a.machineID}`)).json as {
      states: { machineID: string }[];
    };
    expect(byMachine.states.every((s) => s.machineID === a.machineID)).toBe(true);
    const machines = (await get(server, "/fleet/v1/machines")).json as { machines: { id: string }[] };
    expect(machines.machines.map((m) => m.id)).toContain(a.machineID);
  });

  it("moves units inactive → loaded → launched after the configured delay, and fails units on request", async () => {
    server.units.clear();
    // Steps of 1 s: wide enough that a loaded CI machine (two suites at once) answers inside each window;
    // with 60 ms steps the first GET came after the first step once.
    server.transitionMs = 1000;
    try {
      server.failUnit(/^broken/);
      await put(server, "slow.service", { desiredState: "launched", options: OPTIONS });
      await put(server, "broken.service", { desiredState: "launched", options: OPTIONS });
      expect((await get(server, "/fleet/v1/state")).text).toBe("{}");
      await new Promise((r) => setTimeout(r, 1200));
      const loaded = (await get(server, "/fleet/v1/units/slow.service")).json as { currentState: string };
      expect(loaded.currentState).toBe("loaded");
      await new Promise((r) => setTimeout(r, 1000));
      const states = (await get(server, "/fleet/v1/state")).json as { states: Record<string, string>[] };
      expect(states.states.map((s) => [s.name, s.systemdActiveState])).toEqual([
        ["broken.service", "failed"],
        ["slow.service", "active"],
      ]);
    } finally {
      server.transitionMs = 0;
      server.healUnit(/^broken/);
    }
  });

  it("injects 5xx, slow responses and dropped connections, and counts requests", async () => {
    server.resetCounts();
    server.failNext(2, 503);
    expect((await get(server, "/fleet/v1/units")).status).toBe(503);
    expect((await get(server, "/fleet/v1/units")).json).toEqual({
      error: { code: 503, message: "injected fault" },
    });
    expect((await get(server, "/fleet/v1/units")).status).toBe(200);
    server.dropNext(1);
    await expect(get(server, "/fleet/v1/units")).rejects.toThrow(/socket hang up|ECONNRESET/);
    server.slowNext(1, 150);
    const started = Date.now();
    await get(server, "/fleet/v1/machines");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(server.counts.total).toBe(5);
    expect(server.counts.byRoute["GET /fleet/v1/units"]).toBe(4);
  });

  it("also listens on 127.0.0.1 with an OS-assigned port", async () => {
    const tcp = await startFleetServer();
    try {
      expect(tcp.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await get(tcp, "/fleet/v1/units")).text).toBe("{}");
    } finally {
      await tcp.close();
    }
  });
});

describe("fake fleetd placement: [X-Fleet] MachineMetadata= and Conflicts=", () => {
  let server: FakeFleetServer;
  beforeAll(async () => {
    server = await startFleetServer();
  });
  afterAll(() => server.close());

  const withFleet = (...extra: { name: string; value: string }[]) => [
    ...OPTIONS,
    ...extra.map((e) => ({ section: "X-Fleet", ...e })),
  ];
  const states = async () =>
    ((await get(server, "/fleet/v1/state")).json as { states?: { name: string; machineID: string }[] })
      .states ?? [];

  it("never gives a machine to a unit whose MachineMetadata no machine has: no machineID, no /state entry", async () => {
    server.units.clear();
    await put(server, "mars.service", {
      desiredState: "launched",
      options: withFleet({ name: "MachineMetadata", value: "region=mars" }),
    });
    await put(server, "api.service", {
      desiredState: "launched",
      options: withFleet({ name: "MachineMetadata", value: "role=api" }),
    });
    const mars = (await get(server, "/fleet/v1/units/mars.service")).json as Record<string, unknown>;
    expect(mars.machineID).toBeUndefined();
    expect(mars.currentState).toBe("inactive");
    const all = await states();
    expect(all.map((s) => s.name)).toEqual(["api.service"]);
    expect(all[0]?.machineID).toBe(server.machines[0]?.id); // the one machine with role=api
  });

  it("places at most one unit per machine among units that conflict, and places the rest once one goes", async () => {
    server.units.clear();
    for (const i of [1, 2, 3, 4]) {
      await put(server, `c@${i}.service`, {
        desiredState: "launched",
        options: withFleet({ name: "Conflicts", value: "c@*.service" }),
      });
    }
    const placed = await states();
    expect(placed.map((s) => s.name)).toEqual(["c@1.service", "c@2.service", "c@3.service"]);
    expect(new Set(placed.map((s) => s.machineID)).size).toBe(3);
    expect((await rawRequest(server.endpoint, "DELETE", "/fleet/v1/units/c@2.service")).status).toBe(204);
    expect((await states()).map((s) => s.name)).toEqual(["c@1.service", "c@3.service", "c@4.service"]);
  });
});

describe("fake fleetd realistic clock (fleetd v1.0.0 timing)", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("gives a new unit a machine only on the engine's pass, and the agent reports it active on its own pass", async () => {
    const server = await startFleetServer({
      realistic: { enginePassMs: 400, agentPassMs: 400, startMs: 100, putMs: 0, getUnitMs: 0 },
    });
    try {
      const put0 = Date.now();
      await put(server, "web.service", { desiredState: "launched", options: OPTIONS });
      expect((await get(server, "/fleet/v1/state")).text).toBe("{}");
      const seen: string[] = [];
      let activeAt = 0;
      while (Date.now() - put0 < 3_000) {
        const s = ((await get(server, "/fleet/v1/state")).json as { states?: Record<string, string>[] })
          .states?.[0];
        const label = s ? s.systemdActiveState : "none";
        if (seen.at(-1) !== label) seen.push(label ?? "none");
        if (label === "active") {
          activeAt = Date.now();
          break;
        }
        await sleep(20);
      }
      expect(seen).toEqual(["none", "inactive", "active"]);
      // engine pass (≤ 400 ms) + agent pass (≤ 400 ms) + start (100 ms)
      expect(activeAt - put0).toBeGreaterThanOrEqual(100);
      expect(activeAt - put0).toBeLessThan(1_100);
    } finally {
      await server.close();
    }
  });

  it("costs what fleetd costs at 1,000 units: /units 11 pages ≈ 2.0 s, /state ≈ 0.8 s, a PUT 18.5 ms, two at a time", async () => {
    const server = await startFleetServer({ realistic: { enginePassMs: 2_000 } });
    try {
      const now = Date.now() - 60_000; // long since scheduled and active
      for (let i = 0; i < 1_001; i++) {
        const name = `u${String(i).padStart(4, "0")}.service`;
        server.units.set(name, {
          name,
          options: OPTIONS,
          desiredState: "launched",
          machineID: "",
          since: now,
        });
      }
      const walk = async (resource: string) => {
        const started = Date.now();
        let pages = 0;
        let token: string | undefined;
        do {
          const reply = await get(server, `/fleet/v1/${resource}${token ? `?nextPageToken=${token}` : ""}`);
          token = (reply.json as { nextPageToken?: string }).nextPageToken;
          pages++;
        } while (token);
        return { pages, ms: Date.now() - started };
      };
      const units = await walk("units");
      expect(units.pages).toBe(11);
      expect(units.ms).toBeGreaterThan(1_800);
      // The floor is the modelled cost; the ceiling only catches a clock far off (a loaded 2-core CI
      // worker adds a few hundred ms of event-loop delay across 11 pages).
      expect(units.ms).toBeLessThan(3_500);
      const state = await walk("state");
      expect(state.pages).toBe(11);
      expect(state.ms).toBeGreaterThan(800);
      expect(state.ms).toBeLessThan(2_000);
      // concurrent PUTs queue: fleetd works on two at a time, so ten take five times one
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          put(server, `p${i}.service`, { desiredState: "launched", options: OPTIONS }),
        ),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    } finally {
      await server.close();
    }
  }, 20_000);
});
