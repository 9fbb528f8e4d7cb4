// SIGTERM to `sysconfig serve` in the middle of an apply: no new change starts, the process ends within
// the grace period, the target's lock is released, and the next start converges.
import { afterEach, beforeEach, expect, it } from "@jest/globals";
import path from "node:path";
import { lockUnitName } from "../reconciler/targets/fleet/lock.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

let fleet: FakeFleetServer;
let dir: string;
let cleanup: () => Promise<void>;
let serve: ServeProcess | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-serve-stop-"));
  fleet = await startFleetServer({ machines: 4 }); // web@.service has Conflicts=web@*: one instance per machine
});

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await fleet.close();
  await cleanup();
});

it("SIGTERM during a roll stops at a safe point within the grace period, releases the lock, and the next start converges", async () => {
  const repo = path.join(dir, "roll");
  await writeFleetRepo(repo, { name: "roll", endpoint: fleet.endpoint, services: { web: { instances: 4 } } });
  fleet.transitionMs = 1500; // each instance takes ~3 s to come up: the roll lasts ~12 s
  const args = [
    "--repo",
    repo,
    "--environment",
    "staging",
    "--schedule",
    "*/2 * * * * *",
    "--grace-period",
    "8",
  ];
  serve = await startServe(args);
  await serve.waitFor((e) => e.event === "log" && String(e.message).includes("create fleet:web@1.service …"));
  expect(fleet.units.has(lockUnitName("roll"))).toBe(true);

  const signalled = Date.now();
  serve.child.kill("SIGTERM");
  const exit = await serve.exited;
  const took = Date.now() - signalled;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(took).toBeLessThan(8000);

  const finished = serve.named("run.finished");
  expect(finished).toHaveLength(1); // the schedule (every 2 s) started nothing more
  expect(finished[0]).toMatchObject({ run: 1, result: "interrupted" });
  expect(serve.named("serve.stopped")[0]).toMatchObject({ reason: "SIGTERM", graceful: true });
  // The roll stopped: web@1 was in flight and finished waiting early; no later instance was started.
  expect(fleet.units.has("web@3.service")).toBe(false);
  expect(fleet.units.has("web@4.service")).toBe(false);
  expect(fleet.units.has(lockUnitName("roll"))).toBe(false);

  // Started again, it picks up from the actual state and converges.
  fleet.transitionMs = 0;
  serve = await startServe(args);
  const converged = await serve.waitFor((e) => e.event === "run.finished" && e.run === 1);
  expect(converged.result).toBe("success");
  for (const n of [1, 2, 3, 4]) expect(fleet.units.has(`web@${n}.service`)).toBe(true);
  const noop = await serve.waitFor((e) => e.event === "run.planned" && e.run === 2, 10_000);
  expect(noop).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 5 });
});

it("past the grace period it says so and exits 1, and still releases the lock once the hung request returns", async () => {
  const repo = path.join(dir, "hung");
  await writeFleetRepo(repo, { name: "hung", endpoint: fleet.endpoint, services: { web: { instances: 2 } } });
  fleet.transitionMs = 1500;
  serve = await startServe(["--repo", repo, "--environment", "staging", "--grace-period", "1"]);
  await serve.waitFor((e) => e.event === "log" && String(e.message).includes("create fleet:web@1.service …"));
  fleet.slowNext(1, 4000); // the next request (a health poll) hangs for 4 s
  await new Promise((r) => setTimeout(r, 100));
  const signalled = Date.now();
  serve.child.kill("SIGTERM");
  const stopped = await serve.waitFor((e) => e.event === "serve.stopped", 10_000);
  expect(stopped).toMatchObject({ level: "error", graceful: false });
  expect(Date.now() - signalled).toBeLessThan(2500);
  const exit = await serve.exited;
  expect(exit.code).toBe(1);
  expect(serve.stderr()).toContain("did not reach a safe point within --grace-period 1 s");
  // The process stayed until the run reached its safe point, so the lock was still released.
  expect(fleet.units.has(lockUnitName("hung"))).toBe(false);
  expect(fleet.units.has("web@2.service")).toBe(false);
});

it("refuses a bad schedule, listen address, secret file or --unhealthy-after with exit 3 before starting", async () => {
  const repo = path.join(dir, "bad");
  await writeFleetRepo(repo, { name: "bad", endpoint: fleet.endpoint, services: { web: {} } });
  const { runCli } = await import("./helpers/cli.js");
  const base = ["serve", "--repo", repo, "--environment", "staging"];
  const cases: [string[], string][] = [
    [["--schedule", "61 * * * *"], '--schedule "61 * * * *" failed: not a cron expression (minute:'],
    [["--schedule", "every five minutes"], "expected 5 or 6 fields"],
    [["--listen", "9420"], '--listen "9420" failed: expected HOST:PORT'],
    [["--listen", "127.0.0.1:99999"], "expected HOST:PORT"],
    [["--webhook-secret-file", path.join(dir, "missing")], "--webhook-secret-file"],
    [["--request-timeout", "99999999"], "'--request-timeout <seconds>' argument '99999999' is invalid"],
    [
      ["--unhealthy-after", "0"],
      "'--unhealthy-after <n>' argument '0' is invalid. expected a whole number of runs from 1 to 1000",
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCli([...base, ...args]);
    expect({ args, code: result.code }).toEqual({ args, code: 3 });
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe(""); // nothing started, no event written
  }
  const notifyBad = await runCli([...base], { env: { SYSCONFIG_NOTIFY_URL: "ftp://secret-token@chat" } });
  expect(notifyBad.code).toBe(3);
  expect(notifyBad.stderr).toContain("SYSCONFIG_NOTIFY_URL failed: not an http(s) URL");
  expect(notifyBad.stderr).not.toContain("secret-token");
  expect(fleet.counts.total).toBe(0);
});
