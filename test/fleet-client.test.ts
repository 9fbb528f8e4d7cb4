// The fleet API client against the fake fleetd: paging, retries, timeouts, error entities, endpoints.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { InvalidInputError } from "../reconciler/errors.js";
import { parseFleetEndpoint } from "../reconciler/targets/fleet/endpoint.js";
import { FleetClient, FleetRequestError } from "../reconciler/targets/fleet/client.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";

const OPTIONS = [{ section: "Service", name: "ExecStart", value: "/bin/sleep 1000" }];
let server: FakeFleetServer;
const client = (extra: Partial<ConstructorParameters<typeof FleetClient>[0]> = {}) =>
  new FleetClient({ endpoint: parseFleetEndpoint(server.endpoint), backoffMs: 5, ...extra });

beforeAll(async () => {
  server = await startFleetServer(); // http://127.0.0.1:<port>
});
afterAll(() => server.close());
beforeEach(() => {
  server.units.clear();
  server.clearFaults();
  server.resetCounts();
});

describe("fleet client", () => {
  it("pages through every unit and state with nextPageToken: 250 units in 3 requests each", async () => {
    const c = client();
    for (let i = 0; i < 250; i++)
      await c.setUnit(`u${i}.service`, { desiredState: "launched", options: OPTIONS });
    server.resetCounts();
    expect(await c.listUnits()).toHaveLength(250);
    expect(await c.listStates()).toHaveLength(250);
    expect(server.counts.byRoute).toEqual({ "GET /fleet/v1/units": 3, "GET /fleet/v1/state": 3 });
    expect(await c.listStates({ unitName: "u7.service" })).toHaveLength(1);
    expect((await c.listMachines()).length).toBe(3);
    c.close();
  });

  it("reads empty lists ({}) as empty and a missing unit as undefined", async () => {
    const c = client();
    expect(await c.listUnits()).toEqual([]);
    expect(await c.getUnit("nope.service")).toBeUndefined();
    expect(await c.destroyUnit("nope.service")).toBe(false);
    c.close();
  });

  it("retries 5xx, 429 and dropped connections, then gives up naming the last error", async () => {
    const c = client({ timeoutMs: 100 });
    server.failNext(1, 500);
    server.failNext(1, 429);
    server.dropNext(1);
    expect(await c.listUnits()).toEqual([]);
    expect(server.counts.total).toBe(4);
    server.failNext(10, 503);
    const error = await c.listUnits().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetRequestError);
    expect((error as FleetRequestError).transient).toBe(true);
    expect((error as Error).message).toBe(
      "fleet GET units failed: injected fault (HTTP 503) (after 5 attempts)",
    );
    c.close();
  });

  it("does not retry a request that got no answer within its timeout, and names the bound", async () => {
    const c = client({ timeoutMs: 100 });
    server.slowNext(1, 300);
    const started = Date.now();
    const error = await c.listUnits().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(250);
    expect(error).toBeInstanceOf(FleetRequestError);
    expect((error as FleetRequestError).transient).toBe(false);
    expect((error as Error).message).toBe(
      `fleet GET units failed: no answer from fleet at ${server.endpoint} within 0.1 s; if it is only slow, ` +
        "raise --request-timeout SECONDS (SYSCONFIG_REQUEST_TIMEOUT)",
    );
    expect(server.counts.total).toBe(1);
    c.close();
  });

  it("does not retry a permanent 4xx", async () => {
    const c = client();
    server.failNext(1, 404);
    await expect(c.listUnits()).rejects.toThrow("fleet GET units failed: injected fault (HTTP 404)");
    expect(server.counts.total).toBe(1);
    c.close();
  });

  it("sends desiredState with every PUT and application/json, so a replace stays launched", async () => {
    const c = client();
    expect(await c.setUnit("a.service", { desiredState: "launched", options: OPTIONS })).toBe(201);
    const changed = [...OPTIONS, { section: "Service", name: "Restart", value: "always" }];
    expect(await c.setUnit("a.service", { desiredState: "launched", options: changed })).toBe(201);
    expect((await c.getUnit("a.service"))?.desiredState).toBe("launched");
    expect(await c.setUnit("a.service", { desiredState: "launched", options: changed })).toBe(204);
    c.close();
  });

  it("parses unix:// and http:// endpoints and refuses anything else (exit 3)", () => {
    expect(parseFleetEndpoint("unix:///var/run/fleet.sock")).toMatchObject({
      kind: "unix",
      socketPath: "/var/run/fleet.sock",
    });
    expect(parseFleetEndpoint("http://127.0.0.1:49153")).toMatchObject({
      kind: "http",
      host: "127.0.0.1",
      port: 49153,
    });
    for (const bad of ["https://fleet:443", "unix://relative.sock", "fleet.sock", "http://h:1/path"]) {
      expect(() => parseFleetEndpoint(bad)).toThrow(InvalidInputError);
    }
  });
});
