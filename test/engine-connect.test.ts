// The Docker engine clients' connect bound is a connect bound: cleared when the socket connects, so a
// build whose engine answers only after reading a 60 MB context is not cut ("socket hang up"), while a
// connection that never completes still fails after the bound. Real engine on the default socket.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import https from "node:https";
import { dockerClient } from "../cli/images/docker-engine.js";
import { buildOnEngine } from "../cli/images/engine-build.js";
import { deterministicTar } from "../cli/images/tar.js";
import { connectBoundAgent } from "../reconciler/targets/docker/connect-bound.js";
import { connectDocker } from "../reconciler/targets/docker/client.js";
import { startBlackHole, type BlackHole } from "./helpers/black-hole.js";

const BASE = "sysconfig-base/busybox:latest";
const quiet = { event: () => undefined, line: () => undefined, end: () => undefined };

describe("a build with a big context and a short connect bound", () => {
  it("uploads 60 MB and builds with a 300 ms connect bound (the engine's first byte comes much later)", async () => {
    const context = await deterministicTar(
      [
        { path: "Dockerfile", content: `FROM ${BASE}\nLABEL sysconfig.test=engine-connect-${process.pid}\n` },
        { path: "big.bin", content: randomBytes(60 * 1024 * 1024) },
      ],
      new Date(0),
    );
    const docker = dockerClient({ ...process.env, DOCKER_HOST: "" }, { connectMs: 300 });
    const started = Date.now();
    const id = await buildOnEngine(docker, { subject: "engine-connect probe", context, progress: quiet });
    try {
      expect(id).toMatch(/^sha256:/);
      // Long enough that a time-to-first-byte bound of 300 ms would have cut it.
      expect(Date.now() - started).toBeGreaterThan(300);
    } finally {
      await docker.getImage(id).remove({ force: true });
    }
  }, 180_000);

  it("the reconciler's engine client has no time-to-first-byte bound left, and answers", async () => {
    const docker = connectDocker({ value: "unix:///var/run/docker.sock", from: "test" }, {}, 2_000);
    const modem = docker.modem as unknown as { connectionTimeout?: number };
    expect(modem.connectionTimeout).toBeUndefined();
    expect(((await docker.version()) as { ApiVersion?: string }).ApiVersion).toBeDefined();
  });
});

describe("a connection that never completes", () => {
  let hole: BlackHole;
  beforeAll(async () => {
    hole = await startBlackHole();
  });
  afterAll(() => hole.close());

  it("fails after the connect bound when the TLS handshake never ends, naming the engine and the bound", async () => {
    const agent = connectBoundAgent("https", 300, `tcp://127.0.0.1:${hole.port}`);
    const started = Date.now();
    const error = await new Promise<Error>((resolve) => {
      const req = https.request({ host: "127.0.0.1", port: hole.port, path: "/_ping", agent }, () =>
        resolve(new Error("answered")),
      );
      req.on("error", resolve);
      req.end();
    });
    agent.destroy();
    expect(error.message).toBe(
      `no connection to the Docker engine at tcp://127.0.0.1:${hole.port} within 0.3 s`,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await hole.drained(2_000)).toBe(0);
  });
});
