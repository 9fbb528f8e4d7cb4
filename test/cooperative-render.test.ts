// Checking 1,000 rendered services runs while a target's paged reads are in flight (the pipeline's
// overlap): the check gives the event loop back every few milliseconds, so a page that arrived is
// followed up at once, not after the whole check (docs/performance.md). The render itself reads files
// as it goes, which lets the loop in already.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { loadConfig } from "../reconciler/config/load.js";
import { checkRenderedFiles } from "../reconciler/desired/check.js";
import { renderAll, type RenderedFile } from "../reconciler/render/render.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { tempDir } from "./helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;
let repo: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-cooperative-"));
  repo = path.join(dir, "repo");
  execFileSync("git", ["init", "-q", "-b", "staging", repo]);
  const services = Object.fromEntries(
    Array.from({ length: 1000 }, (_, i) => [`svc${String(i).padStart(4, "0")}`, {}]),
  );
  await writeFleetRepo(repo, { name: "coop", endpoint: "unix:///nonexistent/fleet.sock", services });
}, 120_000);
afterAll(() => cleanup());

/** How many times a chain of setImmediate callbacks ran while `work` did. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ turns: number; value: T }> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const value = await work();
  done = true;
  return { turns, value };
}

describe("local work during a target's reads", () => {
  it("checking 1,000 rendered units lets I/O callbacks run in between", async () => {
    const config = await loadConfig(repo);
    const files: RenderedFile[] = await renderAll(repo, config, "staging");
    await checkRenderedFiles(config, "staging", files); // the fleet check's module is loaded: no I/O left
    // Copies: each file is checked once (the check remembers a file it checked), as a run does. Three
    // rounds of 1,000, so that a fast machine's check still spans several 8 ms slices.
    const { turns } = await turnsDuring(async () => {
      for (let round = 0; round < 3; round++) {
        await checkRenderedFiles(
          config,
          "staging",
          files.map((f) => ({ ...f })),
        );
      }
    });
    // Without the pauses: none at all. How many depends on the machine's speed (one per 8 ms slice).
    expect(turns).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
