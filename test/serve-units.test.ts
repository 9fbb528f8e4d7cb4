// The pure pieces of serve with plain data: the signature check, the run queue's coalescing, the
// health verdict and the chat message (what it says, and that it never carries a secret).
import { describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { createEventLog } from "../reconciler/serve/event-log.js";
import { HealthState } from "../reconciler/serve/health.js";
import { notificationFor } from "../reconciler/serve/notification.js";
import type { RunRecord } from "../reconciler/serve/run-record.js";
import { RunQueue } from "../reconciler/serve/run-queue.js";
import { checkSignature, signBody } from "../reconciler/serve/signature.js";

describe("checkSignature", () => {
  const secret = Buffer.from("s3cret");
  const body = Buffer.from('{"ref":"refs/heads/main"}');
  const good = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

  it("accepts GitHub's format, in either hex case", () => {
    expect(signBody(secret, body)).toBe(good);
    expect(checkSignature(secret, body, good)).toBe("valid");
    expect(checkSignature(secret, body, good.toUpperCase().replace("SHA256=", "sha256="))).toBe("valid");
  });

  it("tells missing, malformed and mismatching signatures apart", () => {
    expect(checkSignature(secret, body, undefined)).toBe("missing");
    expect(checkSignature(secret, body, "")).toBe("missing");
    expect(checkSignature(secret, body, good.replace("sha256=", "sha1="))).toBe("malformed");
    expect(checkSignature(secret, body, `${good}00`)).toBe("malformed");
    expect(checkSignature(secret, body, good.slice(0, -1))).toBe("malformed");
    expect(checkSignature(Buffer.from("other"), body, good)).toBe("mismatch");
    expect(checkSignature(secret, Buffer.from(`${body.toString()} `), good)).toBe("mismatch");
  });
});

describe("RunQueue", () => {
  function gate() {
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, opened };
  }

  it("runs one at a time and folds every trigger during a run into exactly one more", async () => {
    const runs: string[][] = [];
    const first = gate();
    let active = 0;
    let most = 0;
    const queue = new RunQueue(async (reasons) => {
      active += 1;
      most = Math.max(most, active);
      runs.push([...reasons]);
      if (runs.length === 1) await first.opened;
      active -= 1;
    });
    expect(queue.trigger("startup")).toBe("started");
    expect(queue.trigger("webhook")).toBe("queued");
    for (let i = 0; i < 50; i++) expect(queue.trigger(i % 2 ? "webhook" : "schedule")).toBe("coalesced");
    first.open();
    await queue.idle();
    expect(runs).toEqual([["startup"], ["webhook", "schedule"]]);
    expect(most).toBe(1);
    expect(queue.trigger("webhook")).toBe("started");
    await queue.idle();
    expect(runs).toHaveLength(3);
  });

  it("after stop() drops the queued run and starts nothing, letting the current one finish", async () => {
    const first = gate();
    let runs = 0;
    const queue = new RunQueue(async () => {
      runs += 1;
      await first.opened;
    });
    queue.trigger("startup");
    queue.trigger("webhook");
    queue.stop();
    expect(queue.trigger("schedule")).toBe("stopped");
    first.open();
    await queue.idle();
    expect(runs).toBe(1);
  });

  it("keeps going after a run throws", async () => {
    let runs = 0;
    const queue = new RunQueue(() => {
      runs += 1;
      return Promise.reject(new Error("boom"));
    });
    queue.trigger("a");
    await queue.idle();
    queue.trigger("b");
    await queue.idle();
    expect(runs).toBe(2);
  });
});

const record = (over: Partial<RunRecord>): RunRecord => ({
  id: 7,
  reasons: ["webhook"],
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:00:02.000Z",
  durationSeconds: 2,
  result: "success",
  ...over,
});

describe("HealthState", () => {
  it("stays healthy through fewer than N failures in a row, and a success resets the count", () => {
    const health = new HealthState(2);
    health.record(record({ result: "failed", transient: true }));
    expect(health.healthy).toBe(true);
    health.record(record({ result: "interrupted" })); // a shutdown says nothing about the target
    expect(health.consecutiveFailures).toBe(1);
    health.record(record({ result: "refused" }));
    expect(health.healthy).toBe(false);
    health.record(record({ result: "success" }));
    expect(health).toMatchObject({ healthy: true, consecutiveFailures: 0 });
  });

  it("is unhealthy at once when the baked config is invalid: no retry can fix it", () => {
    const health = new HealthState(3);
    health.record(record({ result: "invalid", error: "sysconfig.yaml: services.web.tag: expected a tag" }));
    expect(health.healthy).toBe(false);
    expect(health.summary).toContain("the config is invalid (run #7)");
  });
});

describe("notificationFor", () => {
  const plan = {
    system: "acme",
    environment: "staging",
    revision: "0123456789abcdef0123456789abcdef01234567",
    target: { kind: "fleet" },
    changes: [],
    summary: { create: 1, update: 1, delete: 0, unchanged: 3, unhealthy: 0, unmanaged: 0, conflict: 0 },
  };

  it("says nothing about a successful run that changed nothing", () => {
    expect(
      notificationFor(
        record({
          plan: {
            ...plan,
            result: {
              changes: [],
              summary: { applied: 0, healthy: 0, unhealthy: 0, failed: 0, skipped: 0, refused: 0 },
            },
          },
        }),
        {},
      ),
    ).toBeUndefined();
  });

  it("names system, environment, revision, counts and what failed, without reasons that could hold a secret", () => {
    const message = notificationFor(
      record({
        result: "failed",
        error:
          "reconcile of acme (staging) failed: 1 of 2 change(s) did not converge: web (DB_PASSWORD=<secret hmac:1234abcd>). Fix it.",
        plan: {
          ...plan,
          result: {
            changes: [
              { subject: "fleet:api.service", action: "create", status: "healthy" },
              {
                subject: "fleet:web.service",
                action: "update",
                status: "failed",
                reason: "DB_PASSWORD=hunter2",
              },
            ],
            summary: { applied: 0, healthy: 1, unhealthy: 0, failed: 1, skipped: 0, refused: 0 },
          },
        },
      }),
      {},
    );
    expect(message?.text).toBe(
      [
        ":x: acme (staging) at 0123456789ab: run #7 failed in 2.0 s",
        "plan: 1 to create, 1 to update, 0 to delete, 3 unchanged",
        "changed: 1 (1 healthy, 0 applied); not converged: 1",
        "failed: fleet:web.service (failed)",
      ].join("\n"),
    );
    expect(message?.text).not.toContain("hunter2");
  });

  it("for a run that failed before planning, gives the first sentence of the (masked) error", () => {
    const message = notificationFor(
      record({
        result: "failed",
        error: "fleet list units failed: connect ECONNREFUSED 10.0.0.1:49153. Check the endpoint.",
      }),
      { system: "acme" },
    );
    expect(message?.text).toBe(
      ":x: acme: run #7 failed in 2.0 s\nerror: fleet list units failed: connect ECONNREFUSED 10.0.0.1:49153.",
    );
  });
});

describe("createEventLog", () => {
  const at = new Date(2026, 0, 2, 3, 4, 5);
  const capture = (json: boolean, verbose = false) => {
    const lines: string[] = [];
    const log = createEventLog({
      write: (line) => lines.push(line),
      json,
      verbose,
      redact: (text) => text.replace(/https:\/\/[^@\s"]+@/g, "https://***@"),
      now: () => at,
    });
    return { log, lines };
  };

  it("writes one JSON object per line when stdout is not a terminal; no field can overwrite time, level or event", () => {
    const { log, lines } = capture(true);
    log.emit("info", "run.finished", { run: 3, result: "success", event: "forged", level: "debug" });
    log.reporter.warn("+ create fleet:web@1.service: failed: https://user:pw@git.example.com refused");
    log.reporter.debug("hidden without --verbose");
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    expect(JSON.parse(lines[0] ?? "")).toEqual({
      time: at.toISOString(),
      level: "info",
      event: "run.finished",
      run: 3,
      result: "success",
    });
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({ level: "warn", event: "log" });
    expect(lines[1]).toContain("https://***@git.example.com");
    expect(lines[1]).not.toContain("pw@");
  });

  it("writes short readable lines on a terminal", () => {
    const { log, lines } = capture(false, true);
    log.emit("info", "webhook.refused", {
      from: "127.0.0.1",
      reason: "signature missing",
      delivery: undefined,
    });
    log.emit("warn", "notify.failed", { run: 2, reason: "no answer within 5000 ms" });
    log.reporter.info("+ create fleet:web@1.service …");
    log.reporter.debug("detail");
    expect(lines).toEqual([
      '03:04:05 webhook.refused from=127.0.0.1 reason="signature missing"\n',
      '03:04:05 warning: notify.failed run=2 reason="no answer within 5000 ms"\n',
      "03:04:05 + create fleet:web@1.service …\n",
      "03:04:05 detail\n",
    ]);
  });
});
