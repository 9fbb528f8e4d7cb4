// serve routes on the exact raw path of the request: dot segments, encoded dots or slashes, doubled
// slashes and encoded letters are no route (404), never another route; HEAD on a GET route answers as GET
// without the body. Requests are written raw (node:http sends the path as given; fetch would normalise it).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { rawRequest } from "./fleet-server/raw-request.js";
import { startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

const SECRET = "route-secret";
let fleet: FakeFleetServer;
let serve: ServeProcess;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir("sysconfig-serve-routes-"));
  fleet = await startFleetServer({ transitionMs: 0 });
  const repo = path.join(dir, "repo");
  await writeFleetRepo(repo, { name: "routes", endpoint: fleet.endpoint, services: { web: {} } });
  const secretFile = path.join(dir, "secret");
  await writeFile(secretFile, SECRET);
  serve = await startServe([
    "--repo",
    repo,
    "--environment",
    "staging",
    "--schedule",
    "0 0 1 1 *",
    "--webhook-secret-file",
    secretFile,
  ]);
  await serve.waitFor((e) => e.event === "run.finished" && e.run === 1);
}, 60_000);
afterAll(async () => {
  await serve.stop();
  await fleet.close();
  await cleanup();
});

const GET_ROUTES = ["/healthz", "/status", "/metrics"];

/** Ways to spell another path that a normalising router would take for `route` (which starts with "/"). */
function confusions(route: string): string[] {
  const name = route.slice(1);
  return [
    `/hooks/..${route}`,
    `/hooks/%2e%2e${route}`,
    `/hooks/%2E%2E${route}`,
    `/hooks/.%2e${route}`,
    `/hooks/..%2f${name}`,
    `/hooks/%2e%2e%2f${name}`,
    `/./${name}`,
    `/${route}`,
    `${route}/`,
    `${route}/.`,
    `${route}%2f`,
    `/%${name.charCodeAt(0).toString(16)}${name.slice(1)}`,
  ];
}

describe("serve's routes", () => {
  it.each(GET_ROUTES)("no spelling of %s other than itself is served", async (route) => {
    for (const spelled of confusions(route)) {
      const reply = await rawRequest(serve.base, "GET", spelled);
      expect({ spelled, status: reply.status }).toEqual({ spelled, status: 404 });
    }
    expect((await rawRequest(serve.base, "GET", route)).status).toBe(200);
    expect((await rawRequest(serve.base, "GET", `${route}?x=1`)).status).toBe(200);
  });

  it("a signed webhook to any other spelling of /hooks/reconcile is 404 and triggers nothing", async () => {
    const body = JSON.stringify({ ref: "refs/heads/staging" });
    const headers = {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
    };
    const runs = serve.named("run.started").length;
    for (const spelled of [...confusions("/hooks/reconcile"), "//hooks/reconcile", "/x/../hooks/reconcile"]) {
      const reply = await rawRequest(serve.base, "POST", spelled, body, headers);
      expect({ spelled, status: reply.status }).toEqual({ spelled, status: 404 });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(serve.named("run.started")).toHaveLength(runs);
    expect((await rawRequest(serve.base, "POST", "/hooks/reconcile", body, headers)).status).toBe(202);
  });

  it.each(GET_ROUTES)("HEAD %s answers like GET, without a body", async (route) => {
    const get = await rawRequest(serve.base, "GET", route);
    const head = await rawRequest(serve.base, "HEAD", route);
    expect(head.status).toBe(get.status);
    expect(head.text).toBe("");
    expect(head.headers["content-type"]).toBe(get.headers["content-type"]);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(0);
  });

  it("HEAD on the webhook is 405 with Allow: POST; a wrong method on a GET route lists GET, HEAD", async () => {
    const head = await rawRequest(serve.base, "HEAD", "/hooks/reconcile");
    expect(head.status).toBe(405);
    expect(head.headers.allow).toBe("POST");
    const del = await rawRequest(serve.base, "DELETE", "/healthz");
    expect(del.status).toBe(405);
    expect(del.headers.allow).toBe("GET, HEAD");
  });
});
