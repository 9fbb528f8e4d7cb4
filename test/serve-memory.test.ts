// serve gives each run's garbage back: a run's working set is garbage the moment it ends, and a serve
// at rest allocates too little for V8 to collect its old generation by itself, so without an explicit
// collection the heap (and the RSS) of the busiest run stays for good.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { getHeapStatistics } from "node:v8";
import { releaseMemory } from "../reconciler/serve/release-memory.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { metric, startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

const MB = 1024 * 1024;

describe("releaseMemory", () => {
  it("collects garbage that reached the old generation", () => {
    // Kept across several young-generation collections, so it is promoted; then dropped.
    let keep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) keep.push({ i, text: `object ${i} `.repeat(4) });
    const full = getHeapStatistics().used_heap_size;
    keep = [];
    expect(releaseMemory()).toBe(true);
    const after = getHeapStatistics().used_heap_size;
    expect(keep).toHaveLength(0);
    expect(full - after).toBeGreaterThan(20 * MB);
  });

  it("leaves a little garbage to V8: no collection (tens of ms of the event loop) after a small run", () => {
    releaseMemory();
    let small: unknown[] = [];
    for (let i = 0; i < 20_000; i++) small.push({ i, text: `object ${i} `.repeat(4) }); // a few MB
    small = [];
    expect(small).toHaveLength(0);
    expect(releaseMemory()).toBe(false);
  });
});

describe("serve after runs of 600 units", () => {
  const UNITS = 600;
  let fleet: FakeFleetServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("serve-memory-"));
    fleet = await startFleetServer();
  });
  afterAll(async () => {
    await serve?.stop();
    await fleet.close();
    await cleanup();
  });

  const writeRepo = (build: number) =>
    writeFleetRepo(path.join(dir, "repo"), {
      name: "memory",
      endpoint: fleet.endpoint,
      services: Object.fromEntries(
        Array.from({ length: UNITS }, (_, i) => [
          `svc${String(i).padStart(3, "0")}`,
          { tag: `${build}-staging` },
        ]),
      ),
    });

  const heapUsedMb = async (s: ServeProcess) => {
    const text = await (await fetch(`${s.base}/metrics`)).text();
    return (metric(text, "sysconfig_nodejs_heap_size_used_bytes") ?? NaN) / MB;
  };

  it("is back to its resting heap after each run that updated every unit", async () => {
    await writeRepo(1);
    const secretFile = path.join(dir, "secret");
    await writeFile(secretFile, "memory-secret\n");
    serve = await startServe([
      "--repo",
      path.join(dir, "repo"),
      "--environment",
      "staging",
      "--schedule",
      "0 0 1 1 *",
      "--webhook-secret-file",
      secretFile,
      "--timeout",
      "120",
      "--max-delete",
      "0",
    ]);
    const s = serve;
    await s.waitFor((e) => e.event === "run.finished" && e.run === 1, 120_000, "the first run");
    const heaps: number[] = [];
    for (let run = 2; run <= 4; run++) {
      await writeRepo(run);
      const res = await fetch(`${s.base}/hooks/reconcile`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-hub-signature-256": `sha256=${createHmac("sha256", "memory-secret").update("{}").digest("hex")}`,
        },
        body: "{}",
      });
      expect(res.status).toBe(202);
      const finished = await s.waitFor(
        (e) => e.event === "run.finished" && e.run === run,
        120_000,
        `run ${run}`,
      );
      expect(finished).toMatchObject({ result: "success", objectsHealthy: UNITS });
      expect(s.named("run.planned").find((e) => e.run === run)).toMatchObject({ update: UNITS });
      await new Promise((resolve) => setTimeout(resolve, 300)); // the collection runs right after the run
      heaps.push(await heapUsedMb(s));
    }
    // Each run of 600 updated units leaves tens of MB of garbage; collected, the heap is its resting size.
    for (const heap of heaps) expect(heap).toBeLessThan(35);
  }, 300_000);
});
