import { describe, expect, it } from "@jest/globals";
import { applyChanges, type ApplyOptions } from "../reconciler/apply/engine.js";
import { dependencyLevels } from "../reconciler/apply/order.js";
import type { ChangeResult } from "../reconciler/apply/result.js";
import { serviceSchema, type ServiceConfig } from "../reconciler/config/schema.js";
import { diffObjects } from "../reconciler/diff/diff.js";
import { silentReporter, type Reporter } from "../reconciler/report/reporter.js";
import type { Change, DesiredState } from "../reconciler/model.js";
import type { ApplyContext } from "../reconciler/targets/target.js";
import { MemoryTarget } from "./fakes/memory-target.js";

type Spec = { instances?: number; dependsOn?: string[]; tag?: string };

function state(services: Record<string, Spec>): DesiredState {
  const configs: Record<string, ServiceConfig> = {};
  for (const [name, spec] of Object.entries(services)) {
    configs[name] = serviceSchema.parse({
      image: `127.0.0.1:5000/acme/${name}`,
      tag: spec.tag ?? "1-develop",
      instances: spec.instances ?? 1,
      dependsOn: spec.dependsOn ?? [],
    });
  }
  return {
    system: "acme",
    environment: "develop",
    revision: "unknown",
    target: { kind: "docker" },
    services: configs,
    files: Object.entries(configs).map(([name, s]) => ({
      service: name,
      path: `rendered/${name}.yaml`,
      content: `service: ${name}\nimage: ${s.image}:${s.tag}\ninstance: %i\n`,
    })),
  };
}

async function reconcileOnce(
  target: MemoryTarget,
  desired: DesiredState,
  options: Partial<ApplyOptions> = {},
): Promise<ChangeResult[]> {
  const changes = diffObjects(target.desiredObjects(desired), await target.readActual(desired.system));
  return applyChanges(target, changes, {
    system: desired.system,
    revision: desired.revision,
    reporter: silentReporter,
    levels: dependencyLevels(desired.services),
    parallelism: 8,
    wait: true,
    timeoutMs: 5000,
    ...options,
  });
}

const statusOf = (results: ChangeResult[]) => Object.fromEntries(results.map((r) => [r.subject, r.status]));
const writes = (target: MemoryTarget) => target.log.filter((l) => /^(create|update|delete|wait) /.test(l));

describe("apply engine", () => {
  it("lets a change that waits outside the limit free its slot: the next change is sent meanwhile", async () => {
    // As a Docker start-first update does: apply, then wait for the new container outside the limit.
    class WaitingTarget extends MemoryTarget {
      override async apply(change: Change, context: ApplyContext): Promise<void> {
        await super.apply(change, context);
        const wait = () => new Promise<void>((resolve) => setTimeout(resolve, 50));
        expect("outsideLimit" in context).toBe(true);
        await context.outsideLimit?.(wait);
        this.log.push(`waited ${change.subject}`);
      }
    }
    const target = new WaitingTarget();
    await reconcileOnce(target, state({ a: {}, b: {} }), { parallelism: 1 });
    const log = target.log.filter((l) => /^(create|waited) /.test(l));
    // With one slot, b is created while a waits; never two changes sending at once.
    expect(log).toEqual(["create docker:a", "create docker:b", "waited docker:a", "waited docker:b"]);
    expect(target.maxInFlight).toBe(1);
  });

  it("creates in dependency order, waiting for each level to be healthy before the next", async () => {
    const target = new MemoryTarget();
    const desired = state({ web: { dependsOn: ["api"] }, api: { dependsOn: ["db"] }, db: {} });
    const results = await reconcileOnce(target, desired);
    expect(writes(target)).toEqual([
      "create docker:db",
      "wait docker:db",
      "create docker:api",
      "wait docker:api",
      "create docker:web",
      "wait docker:web",
    ]);
    expect(results.every((r) => r.status === "healthy")).toBe(true);
  });

  it("never has more than --parallelism changes in flight within a level", async () => {
    const target = new MemoryTarget({ applyDelayMs: 15 });
    const services = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`svc${i}`, {}]));
    const results = await reconcileOnce(target, state(services), { parallelism: 3 });
    expect(target.maxInFlight).toBe(3);
    expect(results.filter((r) => r.status === "healthy")).toHaveLength(20);
  });

  it("rolls a group one instance at a time and stops the roll at the first failure, other objects continue", async () => {
    const target = new MemoryTarget({ applyDelayMs: 2 });
    await reconcileOnce(target, state({ worker: { instances: 4 }, api: {} }));
    target.log.length = 0;
    target.failApply.set("docker:worker@2", "image pull failed");
    const results = await reconcileOnce(
      target,
      state({ worker: { instances: 4, tag: "2-develop" }, api: { tag: "2-develop" } }),
    );
    const rollLog = writes(target).filter((l) => l.includes("worker"));
    expect(rollLog).toEqual(["update docker:worker@1", "wait docker:worker@1", "update docker:worker@2"]);
    expect(statusOf(results)).toEqual({
      "docker:api": "healthy",
      "docker:worker@1": "healthy",
      "docker:worker@2": "failed",
      "docker:worker@3": "skipped",
      "docker:worker@4": "skipped",
    });
    expect(results.find((r) => r.subject === "docker:worker@3")?.reason).toBe(
      "roll of worker stopped: docker:worker@2 failed",
    );
  });

  it("stops a roll when an instance is unhealthy", async () => {
    const target = new MemoryTarget();
    target.unhealthy.set("docker:worker@1", "container exited with code 1");
    const results = await reconcileOnce(target, state({ worker: { instances: 3 } }));
    expect(statusOf(results)).toEqual({
      "docker:worker@1": "unhealthy",
      "docker:worker@2": "skipped",
      "docker:worker@3": "skipped",
    });
    expect(results[0]?.reason).toBe("container exited with code 1");
  });

  it("with --no-wait still confirms each rolled instance before the next, but not the last or single objects", async () => {
    const target = new MemoryTarget();
    const results = await reconcileOnce(target, state({ worker: { instances: 3 }, api: {} }), {
      wait: false,
    });
    expect(writes(target).filter((l) => l.startsWith("wait"))).toEqual([
      "wait docker:worker@1",
      "wait docker:worker@2",
    ]);
    expect(statusOf(results)).toEqual({
      "docker:api": "applied",
      "docker:worker@1": "healthy",
      "docker:worker@2": "healthy",
      "docker:worker@3": "applied",
    });
  });

  it("deletes last, in reverse dependency order, services no longer configured first", async () => {
    const target = new MemoryTarget();
    await reconcileOnce(
      target,
      state({ db: { instances: 3 }, api: { instances: 3, dependsOn: ["db"] }, old: {} }),
    );
    target.log.length = 0;
    const results = await reconcileOnce(
      target,
      state({ db: { instances: 2, tag: "2-develop" }, api: { instances: 2, dependsOn: ["db"] } }),
    );
    expect(writes(target).filter((l) => !l.startsWith("wait"))).toEqual([
      "update docker:db@1",
      "update docker:db@2",
      "delete docker:old",
      "delete docker:api@3",
      "delete docker:db@3",
    ]);
    expect(results.filter((r) => r.action === "delete").every((r) => r.status === "applied")).toBe(true);
  });

  it("deletes nothing when a create or update did not converge, and names each skipped delete", async () => {
    const target = new MemoryTarget();
    await reconcileOnce(target, state({ api: {}, old: {}, older: {} }));
    target.log.length = 0;
    target.failApply.set("docker:api", "image pull failed");
    const results = await reconcileOnce(target, state({ api: { tag: "2-develop" }, web: {} }));
    expect(writes(target).filter((l) => l.startsWith("delete"))).toEqual([]);
    expect(target.objects.has("old")).toBe(true);
    expect(target.objects.has("older")).toBe(true);
    expect(statusOf(results)).toEqual({
      "docker:api": "failed",
      "docker:old": "skipped",
      "docker:older": "skipped",
      "docker:web": "healthy",
    });
    expect(results.find((r) => r.subject === "docker:old")?.reason).toMatch(
      /^not pruned: 1 desired object\(s\) did not converge/,
    );

    target.failApply.clear();
    const next = await reconcileOnce(target, state({ api: { tag: "2-develop" }, web: {} }));
    expect(statusOf(next)).toEqual({
      "docker:api": "healthy",
      "docker:old": "applied",
      "docker:older": "applied",
    });
    expect(target.objects.has("old")).toBe(false);
  });

  it("deletes nothing when an update is unhealthy", async () => {
    const target = new MemoryTarget();
    await reconcileOnce(target, state({ api: {}, old: {} }));
    target.unhealthy.set("docker:api", "container exited with code 1");
    const results = await reconcileOnce(target, state({ api: { tag: "2-develop" } }));
    expect(statusOf(results)).toEqual({ "docker:api": "unhealthy", "docker:old": "skipped" });
    expect(target.objects.has("old")).toBe(true);
  });

  it("reports every failure and skips only the dependents of what failed", async () => {
    const target = new MemoryTarget();
    target.failApply.set("docker:db", "port 5432 in use");
    target.failApply.set("docker:cache", "no such image");
    const results = await reconcileOnce(
      target,
      state({ db: {}, cache: {}, queue: {}, api: { dependsOn: ["db"] } }),
    );
    expect(statusOf(results)).toEqual({
      "docker:api": "skipped",
      "docker:cache": "failed",
      "docker:db": "failed",
      "docker:queue": "healthy",
    });
    expect(results.find((r) => r.subject === "docker:api")?.reason).toBe("dependency db did not converge");
    expect(results.find((r) => r.subject === "docker:db")?.reason).toBe(
      "docker:db create failed: port 5432 in use",
    );
  });

  it("refuses a conflicting object and never touches it, applying the rest", async () => {
    const target = new MemoryTarget();
    target.addUnmanaged("web");
    const results = await reconcileOnce(target, state({ web: {}, api: {} }));
    expect(statusOf(results)).toEqual({ "docker:api": "healthy", "docker:web": "refused" });
    expect(target.objects.get("web")?.system).toBeUndefined();
    expect(writes(target)).not.toContain("create docker:web");
  });

  it("prunes nothing while a desired object is refused by a conflict (rename onto a name held by another)", async () => {
    const target = new MemoryTarget();
    await reconcileOnce(target, state({ web: {} }));
    target.addUnmanaged("web2");
    target.log.length = 0;
    const results = await reconcileOnce(target, state({ web2: {} }));
    expect(statusOf(results)).toEqual({ "docker:web": "skipped", "docker:web2": "refused" });
    expect(results.find((r) => r.subject === "docker:web")?.reason).toMatch(
      /^not pruned: 1 desired object\(s\) did not converge \(failed, unhealthy, skipped or refused by a conflict\)/,
    );
    expect(writes(target)).toEqual([]);
    expect(target.objects.get("web")?.system).toBe("acme");
    expect(target.objects.get("web2")?.system).toBeUndefined();
  });

  it("starts nothing new once interrupted, and the next run converges without duplicates", async () => {
    const target = new MemoryTarget();
    const controller = new AbortController();
    let applied = 0;
    target.onApply = () => {
      applied += 1;
      if (applied === 2) controller.abort();
    };
    const desired = state({ a: {}, b: {}, c: {}, d: { instances: 3 } });
    const first = await reconcileOnce(target, desired, { parallelism: 1, signal: controller.signal });
    expect(
      first
        .filter((r) => r.status === "skipped")
        .every((r) => r.reason === "interrupted before it was applied"),
    ).toBe(true);
    expect(first.filter((r) => r.status === "healthy")).toHaveLength(2);
    target.onApply = undefined;
    const second = await reconcileOnce(target, desired);
    expect(second.map((r) => r.action)).toEqual(["create", "create", "create", "create"]);
    expect(target.objects.size).toBe(6);
    const third = await reconcileOnce(target, desired);
    expect(third).toEqual([]);
  });
});

describe("apply engine: send a level, then wait for it through one shared watcher", () => {
  const many = (n: number, extra: Spec = {}) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`svc${String(i).padStart(2, "0")}`, extra]));

  it("sends every change of a level before the first poll, and confirms them all with a few shared polls", async () => {
    const target = new MemoryTarget({ applyDelayMs: 2, healthPolling: { initialMs: 20, maxMs: 20 } });
    const desired = state(many(40));
    for (const o of target.desiredObjects(desired)) target.pendingPolls.set(o.subject, 3);
    const results = await reconcileOnce(target, desired, { parallelism: 8 });
    expect(results.every((r) => r.status === "healthy")).toBe(true);
    // one checkHealth call answers for every waiting change: 40 changes, 3 pending polls each
    expect(target.polls.length).toBeLessThanOrEqual(6);
    expect(Math.max(...target.polls.map((p) => p.subjects.length))).toBe(40);
    const lastApply = target.log.findLastIndex((l) => l.startsWith("create "));
    const firstHealthy = target.log.findIndex((l) => l.startsWith("wait "));
    expect(lastApply).toBeLessThan(firstHealthy);
    expect(target.maxInFlight).toBe(8);
  });

  it("polls soon after the change, then backs off up to the cap", async () => {
    const target = new MemoryTarget({ healthPolling: { initialMs: 20, maxMs: 200 } });
    target.pendingPolls.set("docker:web", 8);
    const started = Date.now();
    await reconcileOnce(target, state({ web: {} }));
    const gaps = target.polls.map((p, i) => p.at - (i === 0 ? started : (target.polls[i - 1]?.at ?? 0)));
    // 20, 30, 45, 67, 101, 151, 200, 200, 200 ms
    expect(gaps[0]).toBeLessThan(100);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(150);
    expect(Math.max(...gaps)).toBeLessThan(300); // never far past the cap
  });

  it("rolls every template at once, each one instance at a time, while single objects wait in the same polls", async () => {
    const target = new MemoryTarget({ healthPolling: { initialMs: 5, maxMs: 5 } });
    const desired = state({ a: { instances: 3 }, b: { instances: 3 }, single: {} });
    for (const o of target.desiredObjects(desired)) target.pendingPolls.set(o.subject, 2);
    const results = await reconcileOnce(target, desired);
    expect(results.every((r) => r.status === "healthy")).toBe(true);
    const order = writes(target);
    for (const roll of ["a", "b"]) {
      const steps = order.filter((l) => l.includes(`docker:${roll}@`));
      expect(steps).toEqual(
        [1, 2, 3].flatMap((i) => [`create docker:${roll}@${i}`, `wait docker:${roll}@${i}`]),
      );
    }
    // b@1 was created before a@1 was confirmed: the two rolls ran side by side
    expect(order.indexOf("create docker:b@1")).toBeLessThan(order.indexOf("wait docker:a@1"));
    expect(
      target.polls.some((p) => p.subjects.includes("docker:a@1") && p.subjects.includes("docker:b@1")),
    ).toBe(true);
  });

  it("reports a change still pending after a while, with the target's reason, while waiting", async () => {
    const target = new MemoryTarget({ healthPolling: { initialMs: 1000, maxMs: 1000 } });
    target.pendingPolls.set("docker:web", 6);
    target.pendingReason.set("docker:web", "no machine has taken it yet");
    const lines: string[] = [];
    const reporter: Reporter = {
      info: (m) => lines.push(m),
      warn: (m) => lines.push(m),
      debug: () => undefined,
    };
    const results = await reconcileOnce(target, state({ web: {} }), { reporter, timeoutMs: 20_000 });
    expect(results[0]?.status).toBe("healthy");
    expect(lines).toContainEqual(
      expect.stringMatching(/^\+ create docker:web: waiting \(\d+(\.\d)? s\): no machine has taken it yet$/),
    );
    expect(lines.filter((l) => l.includes("waiting ("))).toHaveLength(1);
  }, 15_000);

  it("gives up at --timeout naming the last pending reason, and other objects still converge", async () => {
    const target = new MemoryTarget({ healthPolling: { initialMs: 10, maxMs: 20 } });
    target.pendingPolls.set("docker:stuck", 1_000_000);
    target.pendingReason.set("docker:stuck", "still pulling the image");
    const results = await reconcileOnce(target, state({ stuck: {}, fine: {} }), { timeoutMs: 300 });
    expect(statusOf(results)).toEqual({ "docker:fine": "healthy", "docker:stuck": "unhealthy" });
    expect(results.find((r) => r.subject === "docker:stuck")?.reason).toMatch(
      /^not healthy within --timeout \(0\.3 s\); last seen: still pulling the image$/,
    );
  });

  it("on interrupt stops waiting after one last poll: what is healthy counts, the rest are named interrupted", async () => {
    const target = new MemoryTarget({ healthPolling: { initialMs: 50, maxMs: 50 } });
    const controller = new AbortController();
    target.pendingPolls.set("docker:slow", 1_000_000);
    target.pendingReason.set("docker:slow", "starting");
    setTimeout(() => controller.abort(), 120);
    const started = Date.now();
    const results = await reconcileOnce(target, state({ slow: {}, quick: {} }), {
      signal: controller.signal,
      timeoutMs: 60_000,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(statusOf(results)).toEqual({ "docker:quick": "healthy", "docker:slow": "unhealthy" });
    expect(results.find((r) => r.subject === "docker:slow")?.reason).toBe(
      "interrupted while waiting; last seen: starting",
    );
  });
});
