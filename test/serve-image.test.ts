// `sysconfig serve` as it runs in production: the config image built by `sysconfig build`, started with
// `docker run --network host` against the real Docker engine (the Docker host target). It converges,
// corrects drift on its schedule, reacts to a signed webhook, and stops on `docker stop` (SIGTERM)
// within its grace period with the lock released.
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createHmac, randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type Dockerode from "dockerode";
import { LOCAL_NODE_IMAGE } from "../cli/images/reconciler-image.js";
import { removeImages } from "./helpers/build-fixtures.js";
import { buildReconcilerImage, runCli } from "./helpers/cli.js";
import {
  buildWebImage,
  commitConfig,
  containersOf,
  docker,
  freePort,
  httpGet,
  nameOf,
  removeSystem,
  uniqueSystem,
} from "./helpers/docker-fixtures.js";
import { metric } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

const id = randomBytes(4).toString("hex");
const reconciler = `sysconfig-test-serve-${id}/reconciler:test`;
const configImage = `sysconfig-test-serve-${id}/config`;
const webImage = `sysconfig-test-serve-${id}/web`;
const SOCK = "/var/run/docker.sock";
const SECRET = "image-webhook-secret-1234";
const system = uniqueSystem("srvimg");

let dir: string;
let cleanup: () => Promise<void>;
let container: Dockerode.Container | undefined;
let servePort: number;
let webPort: number;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; serve said:\n${await logs()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function logs(): Promise<string> {
  if (!container) return "";
  const buffer = await container
    .logs({ stdout: true, stderr: true, follow: false })
    .catch(() => Buffer.alloc(0));
  let text = "";
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString();
    offset += 8 + size;
  }
  return text;
}

async function getJson(p: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${servePort}${p}`, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const runsFinished = async () => Number((await getJson("/status")).body.runsFinished);

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-serve-image-"));
  servePort = await freePort();
  webPort = await freePort();
  await buildReconcilerImage(reconciler, LOCAL_NODE_IMAGE);
  await buildWebImage(`${webImage}:1-main`, "served by serve\n");
  const repo = path.join(dir, "config");
  await mkdir(repo);
  await commitConfig(
    repo,
    `name: ${system}
image: ${configImage}
environments:
  main: { target: { kind: docker } }
services:
  web:
    image: ${webImage}
    tag: 1-main
    command: ["httpd", "-f", "-p", "${webPort}", "-h", "/www"]
    ports: [{ container: ${webPort} }]
    health: { http: { path: /, port: ${webPort} }, intervalSeconds: 1, retries: 3 }
`,
    "config",
  );
  const build = await runCli([
    "build",
    "--repo",
    repo,
    "--image",
    configImage,
    "--base",
    reconciler,
    "--build-num",
    "1",
  ]);
  if (build.code !== 0) throw new Error(`sysconfig build failed: ${build.stderr}`);
  const secretFile = path.join(dir, "webhook-secret");
  await writeFile(secretFile, `${SECRET}\n`);
  await chmod(secretFile, 0o644); // the image runs as uid 10001
}, 300_000);

afterAll(async () => {
  await container?.remove({ force: true }).catch(() => undefined);
  await removeSystem(system);
  await removeImages(docker, [
    reconciler,
    `${configImage}:main`,
    `${configImage}:1-main`,
    `${webImage}:1-main`,
  ]);
  const leftover = await docker.listImages({ filters: { reference: [configImage] } });
  await removeImages(
    docker,
    leftover.flatMap((i) => i.RepoTags ?? []),
  );
  await cleanup();
});

it("runs in the config image on the Docker host: converges, fixes drift on schedule, answers a signed webhook, stops cleanly on docker stop", async () => {
  container = await docker.createContainer({
    Image: `${configImage}:main`,
    Cmd: [
      "serve",
      "--listen",
      `127.0.0.1:${servePort}`,
      "--schedule",
      "*/3 * * * * *",
      "--webhook-secret-file",
      "/run/secrets/webhook-secret",
      "--grace-period",
      "10",
      "--timeout",
      "30",
    ],
    HostConfig: {
      NetworkMode: "host",
      GroupAdd: [String(statSync(SOCK).gid)],
      Binds: [`${SOCK}:${SOCK}`, `${path.join(dir, "webhook-secret")}:/run/secrets/webhook-secret:ro`],
    },
  });
  await container.start();

  // Converges: the service answers, /status shows the baked revision's successful run.
  await until("the first successful run", async () => {
    const { body } = await getJson("/status");
    return body.lastSuccess === null ? undefined : body;
  });
  expect(await httpGet(webPort)).toBe("served by serve\n");
  expect((await getJson("/healthz")).status).toBe(200);
  const status = (await getJson("/status")).body as {
    lastRun: { plan: { system: string; environment: string; revision: string } };
  };
  expect(status.lastRun.plan).toMatchObject({ system, environment: "main" });
  expect(status.lastRun.plan.revision).toMatch(/^[0-9a-f]{40}$/);

  // Drift: the container removed by hand comes back on the next scheduled run.
  const [web] = (await containersOf(system)).filter((c) => nameOf(c) === `${system}-web`);
  await docker.getContainer(web?.Id ?? "").remove({ force: true });
  await until(
    "drift corrected",
    async () => ((await httpGet(webPort)) === "served by serve\n" ? true : undefined),
    30_000,
  );

  // A signed webhook starts a run; an unsigned one is refused.
  const body = JSON.stringify({ ref: "refs/heads/main" });
  const unsigned = await fetch(`http://127.0.0.1:${servePort}/hooks/reconcile`, { method: "POST", body });
  expect(unsigned.status).toBe(401);
  const before = await runsFinished();
  const signed = await fetch(`http://127.0.0.1:${servePort}/hooks/reconcile`, {
    method: "POST",
    headers: { "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}` },
    body,
  });
  expect(signed.status).toBe(202);
  await until("the webhook's run", async () => ((await runsFinished()) > before ? true : undefined), 20_000);
  const metrics = await (await fetch(`http://127.0.0.1:${servePort}/metrics`)).text();
  expect(metric(metrics, 'sysconfig_webhook_requests_total{outcome="accepted"}')).toBe(1);
  expect(metric(metrics, 'sysconfig_webhook_requests_total{outcome="unauthorized"}')).toBe(1);
  expect(metric(metrics, 'sysconfig_runs_total{result="failed"}')).toBe(0);

  // docker stop sends SIGTERM: serve stops within its grace period and leaves no lock behind.
  const stopping = Date.now();
  await container.stop({ t: 20 });
  const state = (await container.inspect()).State;
  expect(Date.now() - stopping).toBeLessThan(12_000);
  expect(state.ExitCode).toBe(0);
  const lines = (await logs()).trim().split("\n");
  for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow(); // JSON lines: stdout is no TTY
  expect(lines.some((l) => l.includes('"event":"serve.stopped"') && l.includes('"graceful":true'))).toBe(
    true,
  );
  expect(lines.join("\n")).not.toContain(SECRET);
  // (serve's own container carries the config image's labels, system included: it is not a leftover.)
  const leftovers = (await containersOf(system)).filter((c) => c.Id !== container?.id).map(nameOf);
  expect(leftovers).toEqual([`${system}-web`]); // no sysconfig-lock-<system> marker
}, 240_000);
