import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { appendFile, rm } from "node:fs/promises";
import path from "node:path";
import { hasPendingChanges, summarize } from "../reconciler/diff/summary.js";
import { InvalidInputError, RuntimeFailureError, SafetyRefusalError } from "../reconciler/errors.js";
import { planJson } from "../reconciler/plan/json.js";
import { maskValue } from "../reconciler/text/mask.js";
import { formatPlanText } from "../reconciler/plan/text.js";
import {
  runReconcile,
  type PlannedRun,
  type ReconcileDeps,
  type ReconcileRequest,
} from "../reconciler/pipeline/reconcile.js";
import { silentReporter, type Reporter } from "../reconciler/report/reporter.js";
import { writeConfigRepo } from "./helpers/config-repo.js";
import { tempDir } from "./helpers/tmp.js";
import { MemoryTarget } from "./fakes/memory-target.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-pipeline-"));
});
afterEach(() => cleanup());

function request(overrides: Partial<ReconcileRequest> = {}): ReconcileRequest {
  return {
    repo: dir,
    environment: "develop",
    planOnly: false,
    guard: { allowMassDelete: false },
    wait: true,
    timeoutSeconds: 5,
    waitLock: false,
    lockOwner: "test pid 1",
    ...overrides,
  };
}

function deps(
  target: MemoryTarget,
  extra: Partial<ReconcileDeps> = {},
): ReconcileDeps & { plans: PlannedRun[] } {
  const plans: PlannedRun[] = [];
  return {
    createTarget: () => Promise.resolve(target),
    reporter: silentReporter,
    env: {},
    onPlan: (plan) => plans.push(plan),
    plans,
    ...extra,
  };
}

const threeServices = {
  hello: {},
  worker: { instances: 3, dependsOn: ["hello"] },
  api: { env: { DB_PASSWORD: "hunter2", LOG_LEVEL: "info" } },
};

describe("reconcile pipeline", () => {
  it("converges, then a second plan shows nothing to do and a second reconcile changes nothing", async () => {
    await writeConfigRepo(dir, "acme", threeServices);
    const target = new MemoryTarget();
    const first = await runReconcile(request(), deps(target));
    expect(first.results?.map((r) => r.status)).toEqual(Array(5).fill("healthy"));
    expect(target.log.slice(0, 3)).toEqual(["read", "lock", "read"]);
    expect(target.log.slice(-2)).toEqual(["unlock", "close"]);

    const plan = await runReconcile(request({ planOnly: true }), deps(target));
    expect(summarize(plan.changeSet.changes)).toMatchObject({
      create: 0,
      update: 0,
      delete: 0,
      unchanged: 5,
    });
    expect(hasPendingChanges(summarize(plan.changeSet.changes))).toBe(false);
    expect(formatPlanText(plan.changeSet, { color: false })).toContain("No changes");

    target.log.length = 0;
    const second = await runReconcile(request(), deps(target));
    expect(second.results).toEqual([]);
    expect(target.log).toEqual(["read", "close"]); // nothing to change: no lock taken, nothing written
  });

  it("takes no lock and changes nothing when planning", async () => {
    await writeConfigRepo(dir, "acme", threeServices);
    const target = new MemoryTarget();
    const plan = await runReconcile(request({ planOnly: true }), deps(target));
    expect(target.log).toEqual(["read", "close"]);
    expect(summarize(plan.changeSet.changes).create).toBe(5);
    expect(target.objects.size).toBe(0);
  });

  it("refuses with exit 4 when another reconciler holds the lock and something must change, changing nothing", async () => {
    await writeConfigRepo(dir, "acme", threeServices);
    const target = new MemoryTarget();
    target.lockHolder = "other-host pid 7";
    const error = await runReconcile(request(), deps(target)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SafetyRefusalError);
    expect((error as SafetyRefusalError).exitCode).toBe(4);
    expect((error as Error).message).toMatch(/held by other-host pid 7.*--wait-lock/);
    expect(target.log).toEqual(["read", "close"]); // read once without the lock, then refused by it
    expect(target.objects.size).toBe(0);
  });

  it("with nothing to change succeeds without the lock, even while another reconciler holds it", async () => {
    await writeConfigRepo(dir, "acme", threeServices);
    const target = new MemoryTarget();
    await runReconcile(request(), deps(target));
    target.lockHolder = "other-host pid 7";
    target.log.length = 0;
    const outcome = await runReconcile(request(), deps(target));
    expect(outcome.results).toEqual([]);
    expect(target.log).toEqual(["read", "close"]);
    expect(target.lockHolder).toBe("other-host pid 7");
  });

  it("plans again under the lock: a change made between the first read and the lock is seen", async () => {
    await writeConfigRepo(dir, "acme", { hello: {} });
    const other = new MemoryTarget();
    await runReconcile(request(), deps(other)); // what another reconciler is about to do
    const target = new MemoryTarget();
    let reads = 0;
    const readActual = target.readActual.bind(target);
    target.readActual = async (system: string) => {
      reads += 1;
      const actual = await readActual(system);
      // The other reconciler creates hello right after our first, unlocked read.
      if (reads === 1) for (const [name, object] of other.objects) target.objects.set(name, object);
      return actual;
    };
    const outcome = await runReconcile(request(), deps(target));
    expect(reads).toBe(2);
    expect(outcome.results).toEqual([]);
    expect(target.log).toEqual(["read", "lock", "read", "unlock", "close"]);
  });

  it("waits for the lock with --wait-lock", async () => {
    await writeConfigRepo(dir, "acme", { hello: {} });
    const target = new MemoryTarget();
    target.lockHolder = "other";
    setTimeout(() => (target.lockHolder = undefined), 30);
    const outcome = await runReconcile(request({ waitLock: true }), deps(target));
    expect(outcome.results?.map((r) => r.status)).toEqual(["healthy"]);
  });

  it("refuses a plan over the prune limit (exit 4), shows it, deletes nothing and releases the lock", async () => {
    const services = Object.fromEntries(["a", "b", "c", "d", "e", "f", "g", "h"].map((n) => [n, {}]));
    await writeConfigRepo(dir, "acme", services);
    const target = new MemoryTarget();
    await runReconcile(request(), deps(target));
    await rm(path.join(dir, "rendered"), { recursive: true });
    await writeConfigRepo(dir, "acme", { a: {}, b: {}, c: {}, d: {}, e: {} });
    const d = deps(target);
    const error = await runReconcile(request(), d).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SafetyRefusalError);
    expect((error as SafetyRefusalError).rule).toBe("max-delete");
    expect(d.plans[0]?.refusal?.rule).toBe("max-delete");
    expect(target.objects.size).toBe(8);
    expect(target.lockHolder).toBeUndefined();
    const allowed = await runReconcile(
      request({ guard: { allowMassDelete: false, maxDelete: 3 } }),
      deps(target),
    );
    expect(allowed.results?.filter((r) => r.action === "delete")).toHaveLength(3);
    expect(target.objects.size).toBe(5);
  });

  it("never deletes anything when the desired state is empty", async () => {
    await writeConfigRepo(dir, "acme", { a: {} });
    const target = new MemoryTarget();
    await runReconcile(request(), deps(target));
    await rm(path.join(dir, "rendered"), { recursive: true });
    await writeConfigRepo(dir, "acme", {});
    const error = await runReconcile(request({ guard: { allowMassDelete: true } }), deps(target)).catch(
      (e: unknown) => e,
    );
    expect((error as SafetyRefusalError).rule).toBe("empty-desired-state");
    expect(target.objects.size).toBe(1);
  });

  it("applies the rest, then fails with exit 1 naming every change that did not converge", async () => {
    await writeConfigRepo(dir, "acme", { ...threeServices, extra: {} });
    const target = new MemoryTarget();
    target.failApply.set("docker:hello", "image not found");
    target.addUnmanaged("api");
    const reported: string[] = [];
    const error = await runReconcile(
      request(),
      deps(target, {
        onResult: (o) => reported.push(...(o.results ?? []).map((r) => `${r.subject} ${r.status}`)),
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailureError);
    const message = (error as Error).message;
    expect(message).toMatch(/5 of 6 change\(s\) did not converge/);
    expect(message).toContain("docker:hello (failed: docker:hello create failed: image not found)");
    expect(message).toContain("docker:api (refused: conflict");
    expect(message).toContain("docker:worker@1 (skipped: dependency hello did not converge)");
    expect(reported).toContain("docker:api refused");
    expect(reported).toContain("docker:extra healthy");
    expect(target.lockHolder).toBeUndefined();
    expect(target.objects.get("api")?.system).toBeUndefined();
  });

  it("on interrupt starts nothing new, releases the lock, fails with exit 1, and the next run converges", async () => {
    await writeConfigRepo(dir, "acme", threeServices);
    const target = new MemoryTarget();
    const controller = new AbortController();
    target.onApply = () => controller.abort();
    const error = await runReconcile(
      request({ parallelism: 1 }),
      deps(target, { signal: controller.signal }),
    ).catch((e: unknown) => e);
    expect((error as RuntimeFailureError).exitCode).toBe(1);
    expect((error as Error).message).toMatch(/interrupted before it was applied/);
    expect(target.lockHolder).toBeUndefined();
    expect(target.log.slice(-2)).toEqual(["unlock", "close"]);
    target.onApply = undefined;
    await runReconcile(request(), deps(target));
    const plan = await runReconcile(request({ planOnly: true }), deps(target));
    expect(hasPendingChanges(summarize(plan.changeSet.changes))).toBe(false);
    expect(target.objects.size).toBe(5);
  });

  it("fails with exit 1 when the target cannot be read, holding no lock", async () => {
    await writeConfigRepo(dir, "acme", { hello: {} });
    const target = new MemoryTarget();
    target.readFailure = new RuntimeFailureError("fleet:/fleet/v1/units list failed: connection refused", {
      transient: true,
    });
    const error = await runReconcile(request(), deps(target)).catch((e: unknown) => e);
    expect((error as RuntimeFailureError).exitCode).toBe(1);
    expect((error as Error).message).toMatch(/connection refused/);
    expect(target.log).toEqual(["read", "close"]); // failed before anything needed the lock
  });

  it("corrects drift on an owned object", async () => {
    await writeConfigRepo(dir, "acme", { hello: {} });
    const target = new MemoryTarget();
    await runReconcile(request(), deps(target));
    const hello = target.objects.get("hello");
    if (hello) hello.running = false;
    const outcome = await runReconcile(request(), deps(target));
    expect(outcome.changeSet.changes[0]).toMatchObject({ action: "update", notes: ["drift: not running"] });
    expect(target.objects.get("hello")?.running).toBe(true);
  });

  it("never prints a secret value in the plan text or JSON", async () => {
    await writeConfigRepo(dir, "acme", threeServices);
    const target = new MemoryTarget();
    await runReconcile(request(), deps(target));
    await rm(path.join(dir, "rendered"), { recursive: true });
    await writeConfigRepo(dir, "acme", {
      ...threeServices,
      api: { env: { DB_PASSWORD: "swordfish", LOG_LEVEL: "info" } },
    });
    const plan = await runReconcile(request({ planOnly: true }), deps(target));
    const text = formatPlanText(plan.changeSet, { color: false });
    const json = JSON.stringify(planJson(plan.changeSet));
    for (const out of [text, json]) {
      expect(out).not.toMatch(/hunter2|swordfish/);
      expect(out).toContain(maskValue("swordfish"));
    }
    expect(text).toMatch(/^~ update docker:api$/m);
  });

  // The target is created while rendered/ is checked (its reads overlap the render: test/pipeline-overlap),
  // but a stale rendered/ ends the run before anything is locked or written, and the target is closed.
  it("refuses a stale or incomplete rendered/ with exit 3 before writing to the target", async () => {
    await writeConfigRepo(dir, "acme", threeServices);
    await appendFile(path.join(dir, "rendered/hello.yaml"), "# edited by hand\n");
    const target = new MemoryTarget();
    const stale = await runReconcile(request(), deps(target)).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(InvalidInputError);
    expect((stale as Error).message).toMatch(/rendered\/hello\.yaml \(stale\).*sysconfig render/);
    await rm(path.join(dir, "rendered/api.yaml"));
    const missing = await runReconcile(request(), deps(target)).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/rendered\/api\.yaml \(missing\)/);
    expect(target.log).toEqual(["close", "close"]);
    expect(target.objects.size).toBe(0);
  });

  it("rejects a dependsOn cycle and an unknown environment with exit 3", async () => {
    await writeConfigRepo(dir, "acme", { a: { dependsOn: ["b"] }, b: { dependsOn: ["a"] } });
    const cycle = await runReconcile(request(), deps(new MemoryTarget())).catch((e: unknown) => e);
    expect((cycle as InvalidInputError).exitCode).toBe(3);
    expect((cycle as Error).message).toMatch(/cycle: a → b → a/);
    await writeConfigRepo(dir, "acme", { a: {} });
    const unknown = await runReconcile(request({ environment: "prod" }), deps(new MemoryTarget())).catch(
      (e: unknown) => e,
    );
    expect((unknown as Error).message).toMatch(/'prod' is not an environment of acme: .*develop, staging/);
  });

  it("takes revision and environment from git HEAD and the current branch", async () => {
    await writeConfigRepo(dir, "acme", { hello: {} });
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: dir,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@x",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@x",
        },
      })
        .toString()
        .trim();
    git("init", "-q", "--initial-branch", "develop");
    git("add", ".");
    git("commit", "-q", "-m", "init");
    const plan = await runReconcile(
      request({ environment: undefined, planOnly: true }),
      deps(new MemoryTarget()),
    );
    expect(plan.changeSet.environment).toBe("develop");
    expect(plan.changeSet.revision).toBe(git("rev-parse", "HEAD"));
  });

  it("renders in memory, with a warning, when --target names another kind than the environment's", async () => {
    await writeConfigRepo(dir, "acme", { hello: {} });
    const warnings: string[] = [];
    const reporter: Reporter = { ...silentReporter, warn: (m) => warnings.push(m) };
    let kind = "";
    const plan = await runReconcile(request({ planOnly: true, targetKind: "fleet" }), {
      ...deps(new MemoryTarget({ kind: "fleet" })),
      reporter,
      createTarget: (config) => {
        kind = config.kind;
        return Promise.resolve(new MemoryTarget({ kind: "fleet" }));
      },
    });
    expect(kind).toBe("fleet");
    expect(plan.desired.files.map((f) => f.path)).toEqual(["rendered/hello.service"]);
    expect(warnings.join("\n")).toMatch(/--target fleet: rendered\/ is for docker/);
  });
});
