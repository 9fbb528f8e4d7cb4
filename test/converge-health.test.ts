// "Converged means healthy" in the core, with plain data and the in-memory target: an owned object with
// the desired spec that is not healthy is a change the plan shows and reconcile waits for, and no delete
// runs while one is unhealthy — across runs, not only within one.
import { describe, expect, it } from "@jest/globals";
import { applyChanges } from "../reconciler/apply/engine.js";
import { dependencyLevels } from "../reconciler/apply/order.js";
import type { ChangeResult } from "../reconciler/apply/result.js";
import { serviceSchema, type ServiceConfig } from "../reconciler/config/schema.js";
import { diffObjects } from "../reconciler/diff/diff.js";
import { hasPendingChanges, summarize } from "../reconciler/diff/summary.js";
import type { ActualObject, Change, DesiredObject, DesiredState } from "../reconciler/model.js";
import { planJson } from "../reconciler/plan/json.js";
import { formatPlanText } from "../reconciler/plan/text.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { listedHealth, uptimeSeconds } from "../reconciler/targets/docker/actual-health.js";
import { MemoryTarget } from "./fakes/memory-target.js";

function state(names: string[]): DesiredState {
  const services: Record<string, ServiceConfig> = {};
  for (const name of names) services[name] = serviceSchema.parse({ image: `acme/${name}`, tag: "1-main" });
  return {
    system: "acme",
    environment: "main",
    revision: "unknown",
    target: { kind: "docker" },
    services,
    files: names.map((name) => ({
      service: name,
      path: `rendered/${name}.yaml`,
      content: `service: ${name}\n`,
    })),
  };
}

async function planAndApply(
  target: MemoryTarget,
  desired: DesiredState,
  wait = true,
): Promise<{ changes: Change[]; results: ChangeResult[] }> {
  const changes = diffObjects(target.desiredObjects(desired), await target.readActual(desired.system));
  const results = await applyChanges(target, changes, {
    system: desired.system,
    revision: desired.revision,
    reporter: silentReporter,
    levels: dependencyLevels(desired.services),
    parallelism: 4,
    wait,
    timeoutMs: 2000,
  });
  return { changes, results };
}

const statusOf = (results: ChangeResult[]) => Object.fromEntries(results.map((r) => [r.subject, r.status]));
const actionOf = (changes: Change[]) => Object.fromEntries(changes.map((c) => [c.subject, c.action]));

const desiredObject: DesiredObject = {
  subject: "docker:container/acme-web2",
  name: "acme-web2",
  service: "web2",
  text: "web2\n",
  hash: "h2",
  dependsOn: [],
  spec: {},
};
const liveObject = (extra: Partial<ActualObject>): ActualObject => ({
  subject: "docker:container/acme-web2",
  name: "acme-web2",
  owned: true,
  service: "web2",
  hash: "h2",
  text: "web2\n",
  spec: {},
  ...extra,
});
const oldWeb: ActualObject = {
  subject: "docker:container/acme-web",
  name: "acme-web",
  owned: true,
  service: "web",
  hash: "h1",
  text: "web\n",
  spec: {},
};

describe("the diff: converged means healthy", () => {
  it("turns an owned object with the desired hash that is not healthy into an `unhealthy` change, not `unchanged`", () => {
    const changes = diffObjects(
      [desiredObject],
      [liveObject({ health: { state: "unhealthy", reason: "keeps restarting (exit 3)" } })],
    );
    expect(changes.map((c) => c.action)).toEqual(["unhealthy"]);
    const summary = summarize(changes);
    expect(summary).toMatchObject({ unchanged: 0, unhealthy: 1 });
    // plan --exit-code exits 2, and reconcile does not stop at "Nothing to do.".
    expect(hasPendingChanges(summary)).toBe(true);
  });

  it("counts a progressing object (a health check still starting) as not converged too", () => {
    const changes = diffObjects(
      [desiredObject],
      [liveObject({ health: { state: "progressing", reason: "running, health check starting" } })],
    );
    expect(changes[0]?.action).toBe("unhealthy");
  });

  it("keeps a healthy object (or one whose health is not knowable) unchanged", () => {
    expect(diffObjects([desiredObject], [liveObject({ health: { state: "healthy" } })])[0]?.action).toBe(
      "unchanged",
    );
    expect(diffObjects([desiredObject], [liveObject({})])[0]?.action).toBe("unchanged");
  });

  it("prefers an update when the spec changed as well: the new version may fix it", () => {
    const changes = diffObjects(
      [desiredObject],
      [liveObject({ hash: "h-old", health: { state: "unhealthy", reason: "keeps restarting (exit 3)" } })],
    );
    expect(changes[0]?.action).toBe("update");
  });

  it("says on every delete that it is held back while a desired object is not healthy", () => {
    const changes = diffObjects(
      [desiredObject],
      [liveObject({ health: { state: "unhealthy", reason: "keeps restarting (exit 3)" } }), oldWeb],
    );
    const remove = changes.find((c) => c.action === "delete");
    expect(remove?.notes.join("\n")).toMatch(
      /^held back: 1 desired object\(s\) are not healthy \(docker:container\/acme-web2\); deletes run only once every desired object is healthy/,
    );
  });

  it("shows the unhealthy object in the plan text with its reason, a warning and the count", () => {
    const changes = diffObjects(
      [desiredObject],
      [liveObject({ health: { state: "unhealthy", reason: "keeps restarting (exit 3)" } }), oldWeb],
    );
    const text = formatPlanText(
      { system: "acme", environment: "main", revision: "abc", targetKind: "docker", changes },
      { color: false },
    );
    expect(text).toContain("! unhealthy docker:container/acme-web2: keeps restarting (exit 3)");
    expect(text).toContain("note: held back: 1 desired object(s) are not healthy");
    expect(text).toContain(
      "Plan: 0 to create, 0 to update, 1 to delete, 0 unchanged, 1 unhealthy, 0 unmanaged.",
    );
    expect(text).not.toContain("No changes");
    const json = planJson({
      system: "acme",
      environment: "main",
      revision: "abc",
      targetKind: "docker",
      changes,
    });
    expect(json.changes.find((c) => c.action === "unhealthy")).toMatchObject({
      subject: "docker:container/acme-web2",
      health: { state: "unhealthy", reason: "keeps restarting (exit 3)" },
    });
    expect(json.summary.unhealthy).toBe(1);
  });
});

describe("the engine: no delete while a desired object is unhealthy, across runs", () => {
  it("renames web → web2 with a crash-looping web2: run 2 keeps web, run 3 (web2 recovered) deletes it", async () => {
    const target = new MemoryTarget({ kind: "docker" });
    await planAndApply(target, state(["web"]));
    // Run 1: web2 is created and never becomes healthy; web is not pruned (this held before).
    target.unhealthy.set("docker:web2", "keeps restarting (exit 3)");
    const run1 = await planAndApply(target, state(["web2"]));
    expect(statusOf(run1.results)).toEqual({ "docker:web": "skipped", "docker:web2": "unhealthy" });
    // Run 2, seconds later: web2 exists with the desired spec but is still crash-looping.
    target.liveHealth.set("docker:web2", { state: "unhealthy", reason: "keeps restarting (exit 3)" });
    const run2 = await planAndApply(target, state(["web2"]));
    expect(actionOf(run2.changes)).toEqual({ "docker:web": "delete", "docker:web2": "unhealthy" });
    expect(statusOf(run2.results)).toEqual({ "docker:web": "skipped", "docker:web2": "unhealthy" });
    expect(run2.results.find((r) => r.subject === "docker:web")?.reason).toMatch(
      /^not pruned: 1 desired object/,
    );
    expect(target.objects.has("web")).toBe(true);
    expect(target.log).not.toContain("delete docker:web");
    // Nothing is sent for an unhealthy object: it is only waited for.
    expect(target.log).not.toContain("unhealthy docker:web2");
    // Run 3: web2 recovers while reconcile waits for it; then, and only then, web is deleted.
    target.unhealthy.delete("docker:web2");
    const run3 = await planAndApply(target, state(["web2"]));
    expect(statusOf(run3.results)).toEqual({ "docker:web": "applied", "docker:web2": "healthy" });
    expect(target.objects.has("web")).toBe(false);
  });

  it("waits for an unhealthy object like a changed one, through the shared health watcher", async () => {
    const target = new MemoryTarget({ kind: "docker" });
    await planAndApply(target, state(["web"]));
    target.liveHealth.set("docker:web", { state: "progressing", reason: "running, health check starting" });
    target.pendingPolls.set("docker:web", 3);
    const { results } = await planAndApply(target, state(["web"]));
    expect(statusOf(results)).toEqual({ "docker:web": "healthy" });
    expect(target.polls.filter((p) => p.subjects.includes("docker:web")).length).toBeGreaterThanOrEqual(4);
  });

  it("with --no-wait reports an unhealthy object as unhealthy (never converged) and deletes nothing", async () => {
    const target = new MemoryTarget({ kind: "docker" });
    await planAndApply(target, state(["web", "old"]));
    target.liveHealth.set("docker:web", { state: "unhealthy", reason: "health check failing" });
    const { results } = await planAndApply(target, state(["web"]), false);
    expect(statusOf(results)).toEqual({ "docker:old": "skipped", "docker:web": "unhealthy" });
    expect(results.find((r) => r.subject === "docker:web")?.reason).toBe(
      "health check failing (not waited for: --no-wait)",
    );
    expect(target.objects.has("old")).toBe(true);
  });
});

describe("docker health from one container list", () => {
  const base = { created: Date.now() / 1000 - 3600, specLabel: "name: acme-web\n" };
  it("reads restart loops, failing checks, stops and never-started containers as unhealthy", () => {
    expect(listedHealth({ ...base, state: "restarting", status: "Restarting (3) 2 seconds ago" })).toEqual({
      state: "unhealthy",
      reason: "keeps restarting (exit 3)",
    });
    expect(listedHealth({ ...base, state: "running", status: "Up 5 minutes (unhealthy)" })).toEqual({
      state: "unhealthy",
      reason: "health check failing",
    });
    expect(listedHealth({ ...base, state: "exited", status: "Exited (143) 3 seconds ago" })).toMatchObject({
      state: "unhealthy",
      reason: expect.stringMatching(/^exited with code 143/) as unknown as string,
    });
    expect(listedHealth({ ...base, state: "created", status: "Created" }).state).toBe("unhealthy");
  });

  it("reads `health: starting` as progressing within its window and unhealthy past it", () => {
    const specLabel =
      "health:\n  test: [CMD, 'true']\n  intervalSeconds: 1\n  timeoutSeconds: 1\n  retries: 1\n  startPeriodSeconds: 5\n";
    expect(
      listedHealth({ ...base, specLabel, state: "running", status: "Up 3 seconds (health: starting)" }).state,
    ).toBe("progressing");
    expect(
      listedHealth({ ...base, specLabel, state: "running", status: "Up 2 minutes (health: starting)" }),
    ).toEqual({
      state: "unhealthy",
      reason: "health check still starting after 120 s (start period and checks allow 9 s)",
    });
  });

  it("watches a container restarted recently (a crash loop caught while up) and trusts a long-running one", () => {
    expect(listedHealth({ ...base, state: "running", status: "Up 2 seconds" }).state).toBe("progressing");
    expect(listedHealth({ ...base, state: "running", status: "Up 2 hours" }).state).toBe("healthy");
    expect(
      listedHealth({ ...base, created: Date.now() / 1000 - 3, state: "running", status: "Up 2 seconds" })
        .state,
    ).toBe("healthy");
    expect(listedHealth({ ...base, state: "running", status: "Up 5 minutes (healthy)" }).state).toBe(
      "healthy",
    );
  });

  it("parses Docker's uptime words", () => {
    expect(uptimeSeconds("Up Less than a second")).toBe(0);
    expect(uptimeSeconds("Up 45 seconds (health: starting)")).toBe(45);
    expect(uptimeSeconds("Up About a minute")).toBe(60);
    expect(uptimeSeconds("Up 3 hours")).toBe(10_800);
    expect(uptimeSeconds("Exited (0) 1 second ago")).toBeUndefined();
  });
});
