// serve counts a run that leaves a desired object unhealthy as failed — also a later run that finds the
// object existing with the desired spec, which used to be "Nothing to do." and a success: /healthz turns
// 503 after --unhealthy-after such runs and the last-success time never moves. Real serve process,
// the test fleetd.
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { metric, startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

const SECRET = "converge-health";
const NEVER = "0 0 1 1 *";

let fleet: FakeFleetServer;
let dir: string;
let cleanup: () => Promise<void>;
let serve: ServeProcess | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-serve-health-"));
  fleet = await startFleetServer();
});
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await fleet.close();
  await cleanup();
});

function trigger(body = "{}"): Promise<Response> {
  return fetch(`${serve?.base}/hooks/reconcile`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
    },
    body,
  });
}

describe("serve and objects that are not healthy", () => {
  it("counts every run that finds a failed unit with the desired spec as failed: /healthz 503, no last success", async () => {
    const repo = path.join(dir, "repo");
    await writeFleetRepo(repo, { name: "sick", endpoint: fleet.endpoint, services: { web: {} } });
    const secretFile = path.join(dir, "secret");
    await writeFile(secretFile, SECRET);
    fleet.failUnit("web.service");
    serve = await startServe([
      "--repo",
      repo,
      "--environment",
      "staging",
      "--schedule",
      NEVER,
      "--webhook-secret-file",
      secretFile,
      "--timeout",
      "2",
      "--unhealthy-after",
      "2",
    ]);
    const first = await serve.waitFor((e) => e.event === "run.finished" && e.run === 1);
    expect(first.result).toBe("failed");

    // Run 2: web.service exists with the desired unit file, still failed on its machine.
    expect((await trigger()).status).toBe(202);
    const second = await serve.waitFor((e) => e.event === "run.finished" && e.run === 2);
    expect(second.result).toBe("failed");
    const planned = serve.named("run.planned").find((e) => e.run === 2);
    expect(planned).toMatchObject({ unhealthy: 1, changes: ["unhealthy fleet:web.service"] });
    expect((await fetch(`${serve.base}/healthz`)).status).toBe(503);
    const metrics = await (await fetch(`${serve.base}/metrics`)).text();
    expect(metric(metrics, "sysconfig_last_success_timestamp_seconds")).toBe(0);
    expect(metric(metrics, "sysconfig_objects_drifted")).toBe(1);
  });
});
