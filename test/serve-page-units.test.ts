// The web page's pieces with plain data: escaping of everything shown, object states (with or without
// the target's health), the bounded run history, the event stream dropping a slow client, the token gate.
import { describe, expect, it } from "@jest/globals";
import { writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import type { ChangeResult } from "../reconciler/apply/result.js";
import { BUILD_INFO_FILE } from "../reconciler/desired/build-info.js";
import type { Change } from "../reconciler/model.js";
import { HealthState } from "../reconciler/serve/health.js";
import type { RunRecord } from "../reconciler/serve/run-record.js";
import { uiAuth } from "../reconciler/serve/ui/auth.js";
import { EventStream, SLOW_CLIENT_BYTES } from "../reconciler/serve/ui/event-stream.js";
import { objectViews } from "../reconciler/serve/ui/objects.js";
import { pageRenderer, renderPage } from "../reconciler/serve/ui/page.js";
import {
  CHANGES_PER_RUN,
  DETAILED_RUNS,
  DIFF_BYTES_PER_RUN,
  RUNS_KEPT,
  RunHistory,
  runView,
} from "../reconciler/serve/ui/run-history.js";
import { revisionInfo } from "../reconciler/serve/ui/revision.js";
import { UiState } from "../reconciler/serve/ui/ui-state.js";
import { productionPackages, reconcilerContext } from "../cli/images/reconciler-context.js";
import { ROOT, runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

const XSS = "<img src=x onerror=alert(1)>";

function change(action: Change["action"], service: string, extra: Partial<Change> = {}): Change {
  const subject = `docker:container/${service}`;
  const object = {
    subject,
    name: service,
    service,
    text: `image: x:1\nGREETING: ${XSS}\n`,
    hash: "h1",
    dependsOn: [],
    spec: {},
  };
  return {
    action,
    subject,
    notes: [],
    ...(action === "delete" || action === "unmanaged"
      ? {}
      : { desired: { ...object, text: object.text.replace("x:1", "x:2"), hash: "h2" } }),
    ...(action === "create" ? {} : { actual: { ...object, owned: action !== "unmanaged" } }),
    ...extra,
  };
}

function record(
  id: number,
  result: RunRecord["result"] = "success",
  extra: Partial<RunRecord> = {},
): RunRecord {
  return {
    id,
    reasons: ["webhook"],
    startedAt: "2026-12-06T10:00:00.000Z",
    finishedAt: "2026-12-06T10:00:02.000Z",
    durationSeconds: 2,
    result,
    ...extra,
  };
}

const noEvents = new EventStream();

describe("page rendering", () => {
  it("renders a service, a subject, a commit subject, a diff and an error that are markup as text", () => {
    const state = new UiState("/nonexistent", noEvents, (t) => t);
    state.header = {
      system: XSS,
      environment: XSS,
      revision: { revision: "a".repeat(40), subject: XSS, time: "2026-12-06T10:00:00Z" },
      targetKind: "docker",
      endpoint: `tcp://${XSS}`,
    };
    const changes = [change("update", XSS), change("unchanged", "web")];
    state.objects = objectViews(changes, [
      { subject: `docker:container/${XSS}`, action: "update", status: "failed", reason: XSS },
    ]);
    state.history.add(runView(record(1, "failed", { error: XSS }), changes));
    state.live = { id: 2, reasons: [XSS], startedAt: "2026-12-06T10:00:00.000Z" };
    const health = new HealthState(3);
    health.record(record(1, "failed", { error: XSS }));
    const page = renderPage({ version: "0.1.0", state, health, nextScheduledRun: () => null });
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(page.match(/<script/g)).toHaveLength(1); // only the page's own, by src
    expect(page).toContain('<script src="/ui/app.js" defer></script>');
    expect(page).not.toMatch(/ style=|<style/);
  });

  it("heads a config image's page with the commit subject and time that sysconfig build baked, escaped", async () => {
    const { dir, cleanup } = await tempDir("sysconfig-page-revision-");
    try {
      const revision = "b".repeat(40);
      const info = {
        system: "acme",
        environment: "develop",
        branch: "develop",
        revision,
        source: "file:///r",
      };
      await writeFile(
        path.join(dir, BUILD_INFO_FILE),
        JSON.stringify({ ...info, created: "2026-12-06T10:00:00.000Z", subject: `Bump hello ${XSS}` }),
      );
      const header = await revisionInfo(dir, revision);
      expect(header).toEqual({ revision, subject: `Bump hello ${XSS}`, time: "2026-12-06T10:00:00.000Z" });

      const state = new UiState("/nonexistent", noEvents, (t) => t);
      state.header = { system: "acme", environment: "develop", revision: header, targetKind: "docker" };
      const page = renderPage({
        version: "0.1.0",
        state,
        health: new HealthState(3),
        nextScheduledRun: () => null,
      });
      expect(page).toContain('<span class="subject">Bump hello &lt;img src=x onerror=alert(1)&gt;</span>');
      expect(page).not.toContain("<img");
    } finally {
      await cleanup();
    }
  });
});

describe("the page for many readers", () => {
  it("renders once for all pages while nothing changed, and again after each change it shows", () => {
    const state = new UiState("/nonexistent", noEvents, (t) => t);
    const health = new HealthState(3);
    let next: Date | null = new Date("2026-12-06T11:00:00Z");
    const page = pageRenderer({ version: "0.1.0", state, health, nextScheduledRun: () => next });
    const render = () => page().toString("utf8");
    const first = render();
    expect(page()).toBe(page()); // one buffer for every reader while nothing changed
    // Reused: a change that does not move the version is not seen until one that does.
    state.header = {
      system: "unseen",
      environment: "develop",
      revision: { revision: "c".repeat(40) },
      targetKind: "docker",
    };
    expect(render()).toBe(first);
    state.version += 1;
    expect(render()).toContain("unseen");

    const start = { id: 1, reasons: ["webhook"], startedAt: new Date("2026-12-06T10:00:00Z") };
    state.runStarted(start);
    const running = render();
    expect(running).not.toBe(first);
    expect(running).toContain("Run #1 in progress");
    expect(render()).toBe(running);

    health.record(record(1, "failed", { error: "the target said no" }));
    state.runFinished(record(1, "failed", { error: "the target said no" }), undefined);
    const finished = render();
    expect(finished).toContain("the target said no");
    expect(finished).not.toContain("Run #1 in progress");

    next = new Date("2026-12-06T12:00:00Z");
    expect(render()).toContain("2026-12-06 12:00:00 UTC");
  });
});

describe("object states", () => {
  it("takes healthy, progressing and unhealthy (with its reason) from the target's health when it reports one", () => {
    const withHealth = (service: string, health: unknown) => {
      const c = change("unchanged", service);
      return { ...c, actual: { ...c.actual, health } } as Change;
    };
    const views = objectViews([
      withHealth("a", { state: "healthy" }),
      withHealth("b", { state: "progressing", reason: "1 of 2 replicas ready" }),
      withHealth("c", { state: "unhealthy", reason: "crash-looping" }),
      withHealth("d", { state: "bogus" }),
      withHealth("e", "not an object"),
      change("unchanged", "f"),
    ]);
    expect(views.map((v) => [v.service, v.state, v.reason])).toEqual([
      ["a", "healthy", undefined],
      ["b", "progressing", "1 of 2 replicas ready"],
      ["c", "unhealthy", "crash-looping"],
      ["d", "healthy", undefined],
      ["e", "healthy", undefined],
      ["f", "healthy", undefined],
    ]);
  });

  it("shows a failed or unhealthy apply as unhealthy with its reason, pending changes as drifted, and drops applied deletes", () => {
    const results: ChangeResult[] = [
      { subject: "docker:container/web", action: "update", status: "failed", reason: "image not found" },
      {
        subject: "docker:container/api",
        action: "create",
        status: "unhealthy",
        reason: "health check failed",
      },
      { subject: "docker:container/old", action: "delete", status: "applied" },
    ];
    const views = objectViews(
      [
        change("update", "web"),
        change("create", "api"),
        change("delete", "old"),
        change("update", "pending", { notes: ["container stopped"] }),
        change("unmanaged", "neighbour"),
      ],
      results,
    );
    expect(views.map((v) => [v.service, v.state, v.reason])).toEqual([
      ["api", "unhealthy", "health check failed"],
      ["neighbour", "unmanaged", undefined],
      ["pending", "drifted", "container stopped"],
      ["web", "unhealthy", "image not found"],
    ]);
  });
});

describe("run history", () => {
  it(`keeps the last ${RUNS_KEPT} runs, newest first`, () => {
    const history = new RunHistory();
    for (let id = 1; id <= RUNS_KEPT + 7; id++) history.add(runView(record(id), []));
    expect(history.list()).toHaveLength(RUNS_KEPT);
    expect(history.list()[0]?.id).toBe(RUNS_KEPT + 7);
    expect(history.list().at(-1)?.id).toBe(8);
  });

  it(`keeps the changes of the newest ${DETAILED_RUNS} runs only, and the summary of every run`, () => {
    const history = new RunHistory();
    for (let id = 1; id <= 12; id++) history.add(runView(record(id), [change("update", `s${id}`)]));
    const detailed = history.list().filter((r) => r.changes.length > 0);
    expect(detailed.map((r) => r.id)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(
      history
        .list()
        .slice(DETAILED_RUNS)
        .map((r) => [r.id, r.detailsDropped]),
    ).toEqual([
      [2, true],
      [1, true],
    ]);
  });

  it("keeps a run's diffs under its byte budget and marks the ones it left out", () => {
    const big = Array.from({ length: 2000 }, (_, i) => {
      const c = change("create", `svc${i}`);
      return { ...c, desired: { ...c.desired!, text: "x".repeat(1000) } };
    });
    const view = runView(record(1), big);
    const kept = view.changes.filter((c) => c.diff !== undefined);
    expect(kept.reduce((n, c) => n + (c.diff?.length ?? 0), 0)).toBeLessThanOrEqual(DIFF_BYTES_PER_RUN);
    expect(view.changes).toHaveLength(CHANGES_PER_RUN);
    expect(view.changesNotKept).toBe(2000 - CHANGES_PER_RUN);
    expect(view.changes.filter((c) => c.diffDropped).length).toBe(CHANGES_PER_RUN - kept.length);
    expect(kept.length).toBeGreaterThan(0);
  });

  it("lists only what apply acts on (and conflicts), not unchanged objects", () => {
    const view = runView(record(1), [
      change("unchanged", "a"),
      change("update", "b"),
      change("unmanaged", "c", { conflict: true }),
    ]);
    expect(view.changes.map((c) => c.subject)).toEqual(["docker:container/b", "docker:container/c"]);
  });
});

describe("event stream", () => {
  it("drops a client that stopped reading instead of buffering for it", async () => {
    const events = new EventStream();
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      events.attach(res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, "127.0.0.1");
    socket.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => socket.once("data", r));
    socket.pause(); // a page that hangs: the kernel buffers fill, then serve's
    expect(events.size).toBe(1);
    const reason = "r".repeat(64 * 1024);
    for (let i = 0; i < 400 && events.size > 0; i++) {
      events.publish({
        type: "change.result",
        data: { id: 1, subject: "s", action: "update", status: "failed", reason },
      });
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(events.size).toBe(0);
    expect(events.dropped).toBe(1);
    expect(SLOW_CLIENT_BYTES).toBeGreaterThan(0);
    socket.destroy();
    events.close();
    await new Promise((r) => server.close(r));
  });

  it("says it is full at its bound", () => {
    const events = new EventStream(0);
    expect(events.full).toBe(true);
    events.close();
  });
});

describe("token gate", () => {
  const req = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;

  it("takes the bearer token or the login cookie, and nothing else", () => {
    const auth = uiAuth(Buffer.from("0123456789abcdef-token"));
    const cookie = auth.cookie().split(";")[0] ?? "";
    expect(cookie).not.toContain("0123456789abcdef-token");
    expect(auth.allows(req({ authorization: "Bearer 0123456789abcdef-token" }))).toBe(true);
    expect(auth.allows(req({ cookie: `other=1; ${cookie}` }))).toBe(true);
    expect(auth.allows(req({}))).toBe(false);
    expect(auth.allows(req({ authorization: "Bearer 0123456789abcdef-toke" }))).toBe(false);
    expect(auth.allows(req({ cookie: "sysconfig_ui=0123456789abcdef-token" }))).toBe(false);
    expect(auth.cookie()).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it("lets everything through when no token is configured", () => {
    expect(uiAuth(undefined).allows(req({}))).toBe(true);
  });
});

describe("shipping the page", () => {
  it("puts the page's script and stylesheet into the reconciler image's context, and no browser driver", async () => {
    const context = await reconcilerContext(ROOT, new Date(0));
    const text = context.tar.toString("latin1");
    expect(text).toContain("app/opt/sysconfig/dist/cli/bundle/assets/app.js");
    expect(text).toContain("app/opt/sysconfig/dist/cli/bundle/assets/app.css");
    expect((await productionPackages(ROOT)).filter((p) => p.includes("puppeteer"))).toEqual([]);
  });

  it("refuses a --ui-token-file shorter than 16 characters before starting anything (exit 3)", async () => {
    const { dir, cleanup } = await tempDir("sysconfig-page-token-");
    try {
      await writeFile(`${dir}/token`, "short\n");
      const result = await runCli([
        "serve",
        "--repo",
        dir,
        "--listen",
        "127.0.0.1:0",
        "--ui-token-file",
        `${dir}/token`,
      ]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("--ui-token-file");
      expect(result.stderr).toContain("at least 16");
      expect(result.stderr).not.toContain("short");
    } finally {
      await cleanup();
    }
  });
});
