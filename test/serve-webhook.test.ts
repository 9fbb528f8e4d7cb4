// sysconfig serve over real HTTP against the fake fleetd: the webhook's signature check, coalescing of
// triggers during a slow run, and a failing target showing in /healthz, /status and /metrics.
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { lockUnitName } from "../reconciler/targets/fleet/lock.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { metric, startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

const SECRET = "it's a secret to everybody";
/** Never fires while a test runs: runs come from startup and the webhook only. */
const NEVER = "0 0 1 1 *";

let fleet: FakeFleetServer;
let dir: string;
let cleanup: () => Promise<void>;
let serve: ServeProcess | undefined;
let secretFile: string;

const sign = (body: string, secret = SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${serve?.base}/hooks/reconcile`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", ...headers },
    body,
  });
}

async function get(p: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${serve?.base}${p}`);
  return { status: res.status, text: await res.text() };
}

/** Lock units taken on the fake fleetd: one per run that reached the target. */
const lockTakes = (system: string) =>
  fleet.log.filter((l) => l === `PUT /fleet/v1/units/${encodeURIComponent(lockUnitName(system))}`).length;
/** Walks of the unit list begun (first pages): every run reads the target at least once. */
const unitListReads = () => fleet.log.filter((l) => l === "GET /fleet/v1/units").length;

async function start(system: string, args: string[] = [], services = { web: { instances: 2 } }) {
  await writeFleetRepo(path.join(dir, system), { name: system, endpoint: fleet.endpoint, services });
  serve = await startServe([
    "--repo",
    path.join(dir, system),
    "--environment",
    "staging",
    "--schedule",
    NEVER,
    "--webhook-secret-file",
    secretFile,
    "--timeout",
    "20",
    ...args,
  ]);
  return serve;
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-serve-"));
  secretFile = path.join(dir, "webhook-secret");
  await writeFile(secretFile, `${SECRET}\n`); // the trailing newline `echo` adds is not part of the secret
  fleet = await startFleetServer();
});

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await fleet.close();
  await cleanup();
});

describe("webhook signature", () => {
  it("accepts a body signed with the shared secret and runs a reconcile of the configured state, whatever the body says", async () => {
    const s = await start("sig-ok");
    await s.waitFor((e) => e.event === "run.finished" && e.run === 1);
    const readsBefore = unitListReads();
    // A signed body that tries to steer the run: it is authenticated, then ignored.
    const body = JSON.stringify({
      ref: "refs/heads/master",
      environment: "master",
      services: { web: { tag: "999-evil", instances: 9 } },
      endpoint: "http://attacker.invalid",
    });
    const res = await post(body, { "x-hub-signature-256": sign(body) });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ok: true, triggered: true, run: "started" });
    const second = await s.waitFor((e) => e.event === "run.finished" && e.run === 2);
    expect(second.result).toBe("success");
    expect(s.named("run.started")[1]?.reasons).toEqual(["webhook"]);
    expect(unitListReads()).toBeGreaterThan(readsBefore); // the webhook's run read the cluster
    expect(lockTakes("sig-ok")).toBe(1); // and, with nothing to change, took no lock
    expect(s.named("run.planned")[1]).toMatchObject({
      environment: "staging",
      create: 0,
      update: 0,
      delete: 0,
    });
    expect([...fleet.units.keys()].filter((n) => n.startsWith("web@")).sort()).toEqual([
      "web@.service",
      "web@1.service",
      "web@2.service",
    ]);
  });

  it("refuses missing, malformed, wrong-secret, tampered and replayed-with-changed-body calls with 401 and triggers nothing", async () => {
    const s = await start("sig-bad");
    await s.waitFor((e) => e.event === "run.finished" && e.run === 1);
    const body = JSON.stringify({ ref: "refs/heads/staging", after: "a".repeat(40) });
    const valid = sign(body);
    const requestsBefore = fleet.counts.total;
    const attempts: [string, Promise<Response>][] = [
      ["missing", post(body)],
      ["empty", post(body, { "x-hub-signature-256": "" })],
      ["malformed", post(body, { "x-hub-signature-256": "sha1=abcdef" })],
      ["not hex", post(body, { "x-hub-signature-256": `sha256=${"z".repeat(64)}` })],
      ["wrong secret", post(body, { "x-hub-signature-256": sign(body, "guess") })],
      ["tampered body", post(body.replace("staging", "master"), { "x-hub-signature-256": valid })],
      ["replay, body changed", post(`${body} `, { "x-hub-signature-256": valid })],
      ["truncated signature", post(body, { "x-hub-signature-256": valid.slice(0, -2) })],
    ];
    for (const [name, pending] of attempts) {
      const res = await pending;
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect(await res.text()).toContain("X-Hub-Signature-256");
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(s.named("run.started")).toHaveLength(1);
    expect(fleet.counts.total).toBe(requestsBefore); // the target was not even read
    const metrics = (await get("/metrics")).text;
    expect(metric(metrics, 'sysconfig_webhook_requests_total{outcome="unauthorized"}')).toBe(attempts.length);
    expect(metric(metrics, 'sysconfig_runs_total{result="success"}')).toBe(1);
    const refused = s.named("webhook.refused").map((e) => e.reason);
    expect(refused).toEqual(
      expect.arrayContaining(["signature missing", "signature malformed", "signature mismatch"]),
    );
    // The same delivery again, unchanged, is accepted: it can only ask for a reconcile of the baked config.
    expect((await post(body, { "x-hub-signature-256": valid })).status).toBe(202);
  });

  it("answers 413 to an oversized body, 405 to a wrong method, 404 elsewhere, and triggers nothing", async () => {
    const s = await start("sig-size");
    await s.waitFor((e) => e.event === "run.finished" && e.run === 1);
    const big = "x".repeat(1024 * 1024 + 1);
    const tooLarge = await post(big, { "x-hub-signature-256": sign(big) });
    expect(tooLarge.status).toBe(413);
    const getHook = await fetch(`${s.base}/hooks/reconcile`);
    expect(getHook.status).toBe(405);
    expect(getHook.headers.get("allow")).toBe("POST");
    const putHook = await fetch(`${s.base}/hooks/reconcile`, { method: "PUT", body: "{}" });
    expect(putHook.status).toBe(405);
    const postStatus = await fetch(`${s.base}/status`, { method: "POST", body: "{}" });
    expect(postStatus.status).toBe(405);
    expect(postStatus.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(`${s.base}/hooks/other`, { method: "POST" })).status).toBe(404);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.named("run.started")).toHaveLength(1);
    const metrics = (await get("/metrics")).text;
    expect(metric(metrics, 'sysconfig_webhook_requests_total{outcome="too_large"}')).toBe(1);
    expect(metric(metrics, 'sysconfig_webhook_requests_total{outcome="bad_method"}')).toBe(2);
  });

  it("answers a signed ping (sent when the hook is created) without running", async () => {
    const s = await start("sig-ping");
    await s.waitFor((e) => e.event === "run.finished" && e.run === 1);
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const res = await post(body, { "x-hub-signature-256": sign(body), "x-github-event": "ping" });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.named("run.started")).toHaveLength(1);
  });

  it("keeps the webhook off (403) when no secret is configured", async () => {
    await writeFleetRepo(path.join(dir, "nohook"), {
      name: "nohook",
      endpoint: fleet.endpoint,
      services: { web: {} },
    });
    serve = await startServe([
      "--repo",
      path.join(dir, "nohook"),
      "--environment",
      "staging",
      "--schedule",
      NEVER,
    ]);
    await serve.waitFor((e) => e.event === "run.finished");
    const body = "{}";
    expect((await post(body, { "x-hub-signature-256": sign(body) })).status).toBe(403);
    await new Promise((r) => setTimeout(r, 300));
    expect(serve.named("run.started")).toHaveLength(1);
  });
});

describe("one run at a time", () => {
  it("coalesces a burst of 100 webhook calls during a slow run into exactly one more run", async () => {
    fleet.transitionMs = 1500; // each instance takes ~3 s to launch, rolled one at a time: ~9 s in all
    const s = await start("burst", [], { web: { instances: 3 } });
    await s.waitFor((e) => e.event === "log" && String(e.message).includes("create fleet:web@1.service …"));
    const body = JSON.stringify({ ref: "refs/heads/staging" });
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => post(body, { "x-hub-signature-256": sign(body) })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(202));
    const outcomes = (await Promise.all(responses.map((r) => r.json() as Promise<{ run: string }>))).map(
      (b) => b.run,
    );
    expect(outcomes.filter((o) => o === "queued")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "coalesced")).toHaveLength(99);
    const first = await s.waitFor((e) => e.event === "run.finished" && e.run === 1, 60_000);
    expect(first.result).toBe("success");
    const second = await s.waitFor((e) => e.event === "run.finished" && e.run === 2, 60_000);
    expect(second.result).toBe("success");
    await new Promise((r) => setTimeout(r, 1500));
    expect(s.named("run.started")).toHaveLength(2);
    expect(s.named("run.started")[1]?.reasons).toEqual(["webhook"]);
    // The runs never overlapped: the second started after the first finished.
    expect(Date.parse(s.named("run.started")[1]?.time ?? "")).toBeGreaterThanOrEqual(Date.parse(first.time));
    // The second run read the cluster again and found nothing left to change, so it took no lock.
    expect(s.named("run.planned")[1]).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 4 });
    expect(lockTakes("burst")).toBe(1);
    const metrics = (await get("/metrics")).text;
    expect(metric(metrics, 'sysconfig_runs_total{result="success"}')).toBe(2);
    expect(metric(metrics, 'sysconfig_webhook_requests_total{outcome="accepted"}')).toBe(100);
  });
});

describe("health", () => {
  it("shows a failing target in /healthz, /status and /metrics, and recovers when it heals", async () => {
    fleet.failUnit(/^web@/);
    const s = await start("failing", ["--unhealthy-after", "2"]);
    const first = await s.waitFor((e) => e.event === "run.finished" && e.run === 1);
    expect(first.result).toBe("failed");
    // One failure: still healthy (it may be passing).
    let health = await get("/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({
      healthy: true,
      consecutiveFailures: 1,
      unhealthyAfter: 2,
    });

    const body = "{}";
    await post(body, { "x-hub-signature-256": sign(body) });
    await s.waitFor((e) => e.event === "run.finished" && e.run === 2);
    health = await get("/healthz");
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text)).toMatchObject({ healthy: false, consecutiveFailures: 2 });

    const status = JSON.parse((await get("/status")).text) as {
      healthy: boolean;
      lastRun: {
        id: number;
        result: string;
        error: string;
        plan: { result: { changes: { subject: string; status: string }[] } };
      };
      lastSuccess: unknown;
      webhook: unknown;
    };
    expect(status.healthy).toBe(false);
    expect(status.lastSuccess).toBeNull();
    expect(status.lastRun).toMatchObject({ id: 2, result: "failed" });
    expect(status.lastRun.error).toMatch(/fleet:web@\d\.service \(unhealthy: failed to start/);
    expect(status.lastRun.plan.result.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          subject: expect.stringMatching(/^fleet:web@\d\.service$/),
          status: "unhealthy",
        }),
      ]),
    );
    expect(status.webhook).toEqual({ enabled: true });

    let metrics = (await get("/metrics")).text;
    expect(metric(metrics, 'sysconfig_runs_total{result="failed"}')).toBe(2);
    expect(metric(metrics, "sysconfig_healthy")).toBe(0);
    expect(metric(metrics, "sysconfig_consecutive_failures")).toBe(2);
    expect(metric(metrics, "sysconfig_last_success_timestamp_seconds")).toBe(0);
    expect(metrics).toMatch(/sysconfig_run_duration_seconds_count\{result="failed"\} 2/);
    expect(metrics).toContain(
      'sysconfig_build_info{version="0.1.0",system="failing",environment="staging",revision="unknown"} 1',
    );

    fleet.healUnit(/^web@/);
    await post(body, { "x-hub-signature-256": sign(body) });
    const third = await s.waitFor((e) => e.event === "run.finished" && e.run === 3);
    expect(third.result).toBe("success");
    expect((await get("/healthz")).status).toBe(200);
    metrics = (await get("/metrics")).text;
    expect(metric(metrics, "sysconfig_healthy")).toBe(1);
    expect(metric(metrics, "sysconfig_last_success_timestamp_seconds")).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
  });
});
