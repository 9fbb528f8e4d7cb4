// serve's chat notifications against a local HTTP receiver: a run that changes something or fails is
// summarized (system, environment, revision, counts, what failed) with no secret in it; a successful
// no-op run says nothing; a receiver that never answers delays no run.
import { afterEach, beforeEach, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { git } from "./helpers/config-repos.js";
import { startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

const WEBHOOK_SECRET = "webhook-shared-secret-4711";
const DB_PASSWORD = "hunter2-but-longer-0815";
const NEW_DB_PASSWORD = "rotated-password-4242";
const HOOK_TOKEN = "XXXXtokenXXXXsecretXXXX";

let fleet: FakeFleetServer;
let dir: string;
let cleanup: () => Promise<void>;
let serve: ServeProcess | undefined;
let receiver: http.Server;
let received: { path: string; contentType: string; body: string }[];

const sign = (body: string) => `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;

async function listen(handler: http.RequestListener): Promise<string> {
  receiver = http.createServer(handler);
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T000/B000/${HOOK_TOKEN}`;
}

/** A committed fleet config repo with one secret-looking variable. */
async function configRepo(name: string): Promise<{ repo: string; revision: string }> {
  const repo = path.join(dir, name);
  await writeFleetRepo(repo, {
    name,
    endpoint: fleet.endpoint,
    services: { web: { instances: 2, env: { DB_PASSWORD, MODE: "live" } } },
  });
  git(["init", "-q", "-b", "staging"], repo);
  git(["add", "-A"], repo);
  git(["commit", "-qm", "config"], repo);
  return { repo, revision: git(["rev-parse", "HEAD"], repo).trim() };
}

async function trigger(): Promise<void> {
  const body = JSON.stringify({ ref: "refs/heads/staging" });
  const res = await fetch(`${serve?.base}/hooks/reconcile`, {
    method: "POST",
    headers: { "x-hub-signature-256": sign(body) },
    body,
  });
  expect(res.status).toBe(202);
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-serve-notify-"));
  fleet = await startFleetServer();
  received = [];
});

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await fleet.close();
  await cleanup();
});

it("posts a summary when a run changes something or fails, nothing for a no-op, and never a secret", async () => {
  const url = await listen((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", contentType: req.headers["content-type"] ?? "", body });
      res.writeHead(200).end("ok");
    });
  });
  const { repo, revision } = await configRepo("notify");
  const secretFile = path.join(dir, "secret");
  await writeFile(secretFile, WEBHOOK_SECRET);
  serve = await startServe(
    [
      "--repo",
      repo,
      "--environment",
      "staging",
      "--schedule",
      "0 0 1 1 *",
      "--webhook-secret-file",
      secretFile,
      "--timeout",
      "10",
    ],
    { env: { SYSCONFIG_NOTIFY_URL: url } },
  );
  await serve.waitFor((e) => e.event === "notify.sent" && e.run === 1);
  expect(received).toHaveLength(1);
  const created = received[0];
  expect(created?.path).toBe(`/services/T000/B000/${HOOK_TOKEN}`);
  expect(created?.contentType).toBe("application/json");
  const first = (JSON.parse(created?.body ?? "{}") as { text: string }).text;
  expect(first).toContain(`notify (staging) at ${revision.slice(0, 12)}: run #1 reconciled`);
  expect(first).toContain("plan: 3 to create, 0 to update, 0 to delete, 0 unchanged");
  expect(first).toContain("changed: 3");

  // A no-op run: nothing to say.
  await trigger();
  await serve.waitFor((e) => e.event === "run.finished" && e.run === 2);
  await new Promise((r) => setTimeout(r, 500));
  expect(received).toHaveLength(1);

  // A failing run names what failed.
  fleet.units.delete("web@2.service");
  fleet.failUnit("web@2.service");
  await trigger();
  await serve.waitFor((e) => e.event === "notify.sent" && e.run === 3);
  const failed = (JSON.parse(received[1]?.body ?? "{}") as { text: string }).text;
  expect(failed).toContain(`notify (staging) at ${revision.slice(0, 12)}: run #3 failed`);
  expect(failed).toContain("plan: 1 to create, 0 to update, 0 to delete, 2 unchanged");
  expect(failed).toContain("failed: fleet:web@2.service (unhealthy)");

  // /status shows the last plan with its diffs: a changed secret as two different masks, never its value.
  fleet.healUnit("web@2.service");
  await writeFleetRepo(repo, {
    name: "notify",
    endpoint: fleet.endpoint,
    services: { web: { instances: 2, env: { DB_PASSWORD: NEW_DB_PASSWORD, MODE: "live" } } },
  });
  git(["commit", "-qam", "rotate the password"], repo);
  await trigger();
  await serve.waitFor((e) => e.event === "run.finished" && e.run === 4);
  const status = await (await fetch(`${serve.base}/status`)).text();
  const masks = [...status.matchAll(/[-+]ExecStart=[^\n]*?-e DB_PASSWORD=(<secret hmac:[0-9a-f]{8}>)/g)].map(
    (m) => m[1],
  );
  expect(masks.length).toBeGreaterThanOrEqual(2);
  expect(new Set(masks).size).toBe(2); // old and new secret: different masks
  const everything =
    status + received.map((r) => r.body).join("\n") + serve.events.map((e) => JSON.stringify(e)).join("\n");
  for (const secret of [DB_PASSWORD, NEW_DB_PASSWORD, WEBHOOK_SECRET, HOOK_TOKEN])
    expect(everything).not.toContain(secret);
  // The log names the chat's host only.
  expect(serve.named("notify.sent")[0]?.host).toBe(new URL(url).host);
});

it("a receiver that never answers delays no run: the post times out on its own and is only logged", async () => {
  const url = await listen(() => {
    // accept the request, never answer
  });
  const { repo } = await configRepo("hang");
  const secretFile = path.join(dir, "secret");
  await writeFile(secretFile, WEBHOOK_SECRET);
  serve = await startServe(
    [
      "--repo",
      repo,
      "--environment",
      "staging",
      "--schedule",
      "0 0 1 1 *",
      "--webhook-secret-file",
      secretFile,
    ],
    { env: { SYSCONFIG_NOTIFY_URL: url } },
  );
  const first = await serve.waitFor((e) => e.event === "run.finished" && e.run === 1);
  expect(first.result).toBe("success");
  // The chat still has not answered, and the next run starts and finishes at once.
  fleet.units.delete("web@1.service");
  const triggered = Date.now();
  await trigger();
  const second = await serve.waitFor((e) => e.event === "run.finished" && e.run === 2);
  expect(second.result).toBe("success");
  expect(Date.now() - triggered).toBeLessThan(3000);
  expect(serve.named("notify.failed")).toHaveLength(0);
  // Each post gives up after 5 s, logged as a warning; the runs were not held up by it.
  const timedOut = await serve.waitFor((e) => e.event === "notify.failed" && e.run === 1, 10_000);
  expect(timedOut).toMatchObject({ level: "warn", reason: "no answer within 5000 ms" });
  expect(Date.parse(timedOut.time)).toBeGreaterThan(Date.parse(second.time));
  expect((await fetch(`${serve.base}/healthz`)).status).toBe(200);
});

it("sends the credentials of a notify URL with user:password as an Authorization header, never in the log", async () => {
  const seen: { auth: string | undefined; path: string }[] = [];
  const base = await listen((req, res) => {
    seen.push({ auth: req.headers.authorization, path: req.url ?? "" });
    req.resume();
    req.on("end", () => res.writeHead(200).end("ok"));
  });
  const url = base.replace("http://", "http://hook-user:p%40ss-w0rd-9137@");
  const { repo } = await configRepo("notify-auth");
  serve = await startServe(["--repo", repo, "--environment", "staging", "--schedule", "0 0 1 1 *"], {
    env: { SYSCONFIG_NOTIFY_URL: url },
  });
  await serve.waitFor((e) => e.event === "notify.sent" && e.run === 1);
  expect(seen).toEqual([
    {
      auth: `Basic ${Buffer.from("hook-user:p@ss-w0rd-9137").toString("base64")}`,
      path: `/services/T000/B000/${HOOK_TOKEN}`,
    },
  ]);
  const log = JSON.stringify(serve.events) + serve.stderr();
  expect(log).not.toContain("p%40ss-w0rd-9137");
  expect(log).not.toContain("p@ss-w0rd-9137");
  expect(serve.named("notify.failed")).toEqual([]);
});
