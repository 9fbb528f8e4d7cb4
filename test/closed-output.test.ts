// A closed stdout or stderr never crashes a run: real child processes whose reader went away (a `| head`,
// a log shipper restarting). The CLI exits quietly with its own exit code, no stack trace; a reconcile
// finishes and releases its lock; serve keeps serving and still releases its lock on SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import path from "node:path";
import { lockUnitName } from "../reconciler/targets/fleet/lock.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { CLI } from "./helpers/cli.js";
import { startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;
let fleet: FakeFleetServer;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-closed-output-"));
  fleet = await startFleetServer({ transitionMs: 0 });
});
afterAll(async () => {
  await fleet.close();
  await cleanup();
});

const many = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`svc${String(i).padStart(3, "0")}`, {}]));

/** Runs a shell pipeline with pipefail: the exit code is sysconfig's unless head fails. */
function pipeline(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-o", "pipefail", "-c", command], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("the CLI with a reader that went away", () => {
  it("plan --output json | head -c 10 prints 10 bytes and exits 0 without a stack trace", async () => {
    const repo = path.join(root, "big");
    await writeFleetRepo(repo, { name: "big", endpoint: fleet.endpoint, services: many(800) });
    const cli = `'${process.execPath}' '${CLI}' plan --repo '${repo}' --environment staging`;
    const full = await pipeline(`${cli} --output json | wc -c`);
    expect(Number(full.stdout.trim())).toBeGreaterThan(96 * 1024); // past a pipe's 64 KB buffer
    for (const output of ["json", "text"]) {
      const cut = await pipeline(`${cli} --output ${output} | head -c 10`);
      expect({ output, code: cut.code, stderr: cut.stderr }).toEqual({ output, code: 0, stderr: "" });
      expect(cut.stdout).toHaveLength(10);
    }
  }, 60_000);

  it("reconcile with stdout and stderr closed from the start still applies everything and releases its lock", async () => {
    const repo = path.join(root, "closed");
    await writeFleetRepo(repo, { name: "closed", endpoint: fleet.endpoint, services: many(60) });
    const child = spawn(
      process.execPath,
      [CLI, "reconcile", "--repo", repo, "--environment", "staging", "--timeout", "30"],
      { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout.destroy();
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(0);
    expect([...fleet.units.keys()].filter((u) => u.startsWith("svc"))).toHaveLength(60);
    expect(fleet.units.has(lockUnitName("closed"))).toBe(false);
  }, 60_000);
});

describe("serve with its log reader gone mid-run", () => {
  let serve: ServeProcess | undefined;
  afterAll(() => serve?.stop());

  it("finishes the run, keeps answering, and releases its lock on SIGTERM", async () => {
    const repo = path.join(root, "serve");
    await writeFleetRepo(repo, {
      name: "served",
      endpoint: fleet.endpoint,
      services: { web: { instances: 3 } },
    });
    fleet.transitionMs = 600; // each instance takes ~1 s to come up: the run lasts a few seconds
    try {
      serve = await startServe(["--repo", repo, "--environment", "staging", "--schedule", "*/2 * * * * *"]);
      await serve.waitFor(
        (e) => e.event === "log" && String(e.message).includes("create fleet:web@1.service"),
      );
      expect(fleet.units.has(lockUnitName("served"))).toBe(true);
      serve.child.stdout?.destroy(); // the log shipper goes away while the run is applying
      serve.child.stderr?.destroy();

      // The run goes on to the end (every instance up, the lock released) and serve keeps serving.
      const until = Date.now() + 30_000;
      let status: { lastRun?: { result?: string } } = {};
      while (Date.now() < until) {
        const response = await fetch(`${serve.base}/status`).catch(() => undefined);
        expect(response?.status).toBe(200);
        status = (await response?.json()) as typeof status;
        if (status.lastRun?.result === "success" && !fleet.units.has(lockUnitName("served"))) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(status.lastRun?.result).toBe("success");
      expect(fleet.units.has("web@3.service")).toBe(true);
      expect((await fetch(`${serve.base}/healthz`)).status).toBe(200);

      serve.child.kill("SIGTERM");
      expect(await serve.exited).toEqual({ code: 0, signal: null });
      expect(fleet.units.has(lockUnitName("served"))).toBe(false);
    } finally {
      fleet.transitionMs = 0;
    }
  }, 60_000);
});
