// The Docker target's read starts while the desired state is rendered (Target.prefetchActual): the
// engine's container list is in flight before the render is done, the first read uses it, and a config
// error abandons it cleanly (exit 3, nothing unhandled). The real engine, behind a loopback unix-socket
// proxy that records each request line as it passes and can hold requests back.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { appendFile, mkdir, readdir, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { loadConfig } from "../reconciler/config/load.js";
import type { TargetConfig } from "../reconciler/config/schema.js";
import { InvalidInputError } from "../reconciler/errors.js";
import { runReconcile } from "../reconciler/pipeline/reconcile.js";
import { findStale } from "../reconciler/render/compare.js";
import { renderAll } from "../reconciler/render/render.js";
import { writeRendered } from "../reconciler/render/write.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createDockerTarget } from "../reconciler/targets/docker/target.js";
import { uniqueSystem } from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const LIST = /^GET \/(v[\d.]+\/)?containers\/json\?all=true/;

let tmp: { dir: string; cleanup: () => Promise<void> };
let proxy: net.Server;
let socketPath: string;
const requests: string[] = [];
const sockets = new Set<net.Socket>();
let holdMs = 0;

beforeAll(async () => {
  tmp = await tempDir("sysconfig-docker-prefetch-");
  socketPath = path.join(tmp.dir, "engine.sock");
  proxy = net.createServer((client) => {
    const engine = net.connect("/var/run/docker.sock");
    sockets.add(client).add(engine);
    client.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("latin1").split("\r\n")) {
        if (/^(GET|POST|PUT|DELETE|HEAD) \//.test(line)) requests.push(line);
      }
      const wait = holdMs;
      client.pause();
      setTimeout(() => {
        engine.write(chunk);
        client.resume();
      }, wait);
    });
    engine.pipe(client);
    client.on("error", () => engine.destroy());
    engine.on("error", () => client.destroy());
    client.on("close", () => engine.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(socketPath, resolve));
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy(); // keep-alive connections would hold close() open
  await new Promise((resolve) => proxy.close(resolve));
  await tmp.cleanup();
});

async function writeRepo(repo: string): Promise<void> {
  await mkdir(repo, { recursive: true });
  const system = uniqueSystem("prefetch");
  await writeFile(
    path.join(repo, "sysconfig.yaml"),
    `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main: { target: { kind: docker, endpoint: "unix://${socketPath}" } }
services:
  web: { image: sysconfig-test/prefetch-web, tag: 1-main, network: none }
  worker: { image: sysconfig-test/prefetch-worker, tag: 1-main, network: none }
`,
  );
  const config = await loadConfig(repo);
  await writeRendered(repo, await findStale(repo, await renderAll(repo, config, "main")));
}

/** A plan or reconcile through the real target, noting which requests had passed when the render was done. */
async function run(repo: string, planOnly: boolean) {
  const out: { error?: unknown; atPrepare?: string[]; ms: number } = { ms: 0 };
  const started = Date.now();
  try {
    await runReconcile(
      {
        repo,
        environment: "main",
        planOnly,
        guard: { allowMassDelete: false },
        wait: false,
        timeoutSeconds: 20,
        waitLock: false,
        lockOwner: "jest",
      },
      {
        createTarget: (config: TargetConfig, options) => {
          if (config.kind !== "docker")
            return Promise.reject(new Error(`expected docker, got ${config.kind}`));
          const target = createDockerTarget(config, options);
          // The target's first step after the render, before the pipeline reads anything itself.
          target.prepare = async () => {
            const until = Date.now() + 3000;
            while (!requests.some((r) => LIST.test(r)) && Date.now() < until) {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            out.atPrepare = [...requests];
          };
          return Promise.resolve(target);
        },
        reporter: silentReporter,
        env: { ...process.env, DOCKER_HOST: "" },
      },
    );
  } catch (error) {
    out.error = error;
  }
  out.ms = Date.now() - started;
  return out;
}

describe("docker read overlapped with rendering", () => {
  it("lists the containers before the render is done, and the plan uses that list", async () => {
    const repo = path.join(tmp.dir, "plan");
    await writeRepo(repo);
    requests.length = 0;
    const plan = await run(repo, true);
    expect(plan.error).toBeUndefined();
    expect(plan.atPrepare?.some((r) => LIST.test(r))).toBe(true);
    expect(requests.filter((r) => LIST.test(r))).toHaveLength(1);
  });

  it("a stale rendered/ exits 3 while the list is held back, without an unhandled rejection and without a write", async () => {
    const repo = path.join(tmp.dir, "stale");
    await writeRepo(repo);
    const web = (await readdir(path.join(repo, "rendered"))).find((f) => f.startsWith("web")) ?? "web";
    await appendFile(path.join(repo, "rendered", web), "# edited by hand\n");
    requests.length = 0;
    holdMs = 4000;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const failed = await run(repo, false);
      expect(failed.error).toBeInstanceOf(InvalidInputError);
      expect((failed.error as Error).message).toContain(`rendered/${web} (stale)`);
      expect(failed.ms).toBeLessThan(3500);
      expect(requests.some((r) => LIST.test(r))).toBe(true); // it had started
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
      expect(requests.filter((r) => !r.startsWith("GET ") && !r.startsWith("HEAD "))).toEqual([]);
    } finally {
      holdMs = 0;
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
