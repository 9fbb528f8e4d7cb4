import { describe, expect, it } from "@jest/globals";
import { dependencyLevels } from "../reconciler/apply/order.js";
import { diffObjects } from "../reconciler/diff/diff.js";
import { checkPruneGuard, defaultMaxDelete } from "../reconciler/diff/prune-guard.js";
import { hasPendingChanges, summarize } from "../reconciler/diff/summary.js";
import { InvalidInputError } from "../reconciler/errors.js";
import type { ActualObject, Change, DesiredObject } from "../reconciler/model.js";

const desired = (name: string, hash = `h-${name}`, extra: Partial<DesiredObject> = {}): DesiredObject => ({
  subject: `fleet:${name}`,
  name,
  service: name.replace(/[@.].*$/, ""),
  text: `${name} ${hash}\n`,
  hash,
  dependsOn: [],
  spec: {},
  ...extra,
});
const owned = (name: string, hash = `h-${name}`, extra: Partial<ActualObject> = {}): ActualObject => ({
  subject: `fleet:${name}`,
  name,
  owned: true,
  service: name.replace(/[@.].*$/, ""),
  hash,
  text: `${name} ${hash}\n`,
  spec: {},
  ...extra,
});
const foreign = (name: string): ActualObject => ({
  subject: `fleet:${name}`,
  name,
  owned: false,
  text: "by hand\n",
  spec: {},
});
const actions = (changes: Change[]) => changes.map((c) => `${c.action} ${c.subject}`);

describe("diffObjects", () => {
  it("creates what is missing, updates what changed, deletes owned leftovers, sorted by subject", () => {
    const changes = diffObjects(
      [desired("web.service", "v2"), desired("api.service"), desired("db.service")],
      [owned("web.service", "v1"), owned("db.service"), owned("old.service")],
    );
    expect(actions(changes)).toEqual([
      "create fleet:api.service",
      "unchanged fleet:db.service",
      "delete fleet:old.service",
      "update fleet:web.service",
    ]);
  });

  it("lists unowned objects as unmanaged and never updates or deletes them", () => {
    const changes = diffObjects([desired("web.service")], [owned("web.service"), foreign("etcd.service")]);
    expect(actions(changes)).toEqual(["unmanaged fleet:etcd.service", "unchanged fleet:web.service"]);
    expect(changes[0]?.conflict).toBeUndefined();
  });

  it("reports a desired name held by an unowned object as a conflict, not a create or update", () => {
    const [change] = diffObjects([desired("web.service")], [foreign("web.service")]);
    expect(change).toMatchObject({ action: "unmanaged", subject: "fleet:web.service", conflict: true });
    expect(change?.notes.join(" ")).toMatch(/conflict: an object sysconfig did not create holds this name/);
  });

  it("turns drift on an owned object with the right hash into an update whose notes say why", () => {
    const [change] = diffObjects(
      [desired("web.service")],
      [owned("web.service", "h-web.service", { drift: ["unit is inactive"] })],
    );
    expect(change).toMatchObject({ action: "update", notes: ["drift: unit is inactive"] });
  });

  it("shows a target's update notes on updates only", () => {
    const notes = ["stop-first: host port 8080/tcp is taken by the old container"];
    const [update] = diffObjects([desired("web", "v2", { updateNotes: notes })], [owned("web", "v1")]);
    expect(update).toMatchObject({ action: "update", notes });
    const [same] = diffObjects([desired("web", "v1", { updateNotes: notes })], [owned("web", "v1")]);
    expect(same).toMatchObject({ action: "unchanged", notes: [] });
  });

  it("refuses duplicate subjects in the desired state as invalid input", () => {
    expect(() => diffObjects([desired("a"), desired("a")], [])).toThrow(InvalidInputError);
  });

  it("summarizes counts and treats conflicts as pending, unchanged and unmanaged as not", () => {
    const changes = diffObjects(
      [desired("a"), desired("b"), desired("c")],
      [owned("a"), foreign("b"), foreign("x")],
    );
    const summary = summarize(changes);
    expect(summary).toEqual({
      create: 1,
      update: 0,
      delete: 0,
      unchanged: 1,
      unhealthy: 0,
      unmanaged: 2,
      conflict: 1,
    });
    expect(hasPendingChanges(summary)).toBe(true);
    expect(hasPendingChanges(summarize(diffObjects([desired("a")], [owned("a"), foreign("x")])))).toBe(false);
  });
});

describe("prune guard", () => {
  const eight = ["a", "b", "c", "d", "e", "f", "g", "h"];

  it("allows up to 25% of owned objects by default (at least 1)", () => {
    expect(defaultMaxDelete(8)).toBe(2);
    expect(defaultMaxDelete(3)).toBe(1);
    const changes = diffObjects(
      eight.slice(2).map((n) => desired(n)),
      eight.map((n) => owned(n)),
    );
    expect(checkPruneGuard(changes, 6, { allowMassDelete: false })).toBeUndefined();
  });

  it("refuses more deletes than --max-delete, naming the rule and both overrides", () => {
    const changes = diffObjects(
      eight.slice(3).map((n) => desired(n)),
      eight.map((n) => owned(n)),
    );
    const refusal = checkPruneGuard(changes, 5, { allowMassDelete: false });
    expect(refusal?.rule).toBe("max-delete");
    expect(refusal?.exitCode).toBe(4);
    expect(refusal?.message).toMatch(
      /deletes 3 of 8 owned .*--max-delete 2 .*pass --max-delete 3 or --allow-mass-delete/,
    );
    expect(checkPruneGuard(changes, 5, { allowMassDelete: false, maxDelete: 3 })).toBeUndefined();
    expect(checkPruneGuard(changes, 5, { allowMassDelete: true })).toBeUndefined();
  });

  it("refuses a plan that deletes every owned object and creates none, unless --allow-mass-delete", () => {
    const changes = diffObjects([desired("new")], [owned("a")]);
    expect(checkPruneGuard(changes, 1, { allowMassDelete: false })).toBeUndefined();
    const emptying = diffObjects([desired("x")], [owned("a"), foreign("x")]);
    const refusal = checkPruneGuard(emptying, 1, { allowMassDelete: false, maxDelete: 10 });
    expect(refusal?.rule).toBe("empty-system");
    expect(checkPruneGuard(emptying, 1, { allowMassDelete: true })).toBeUndefined();
  });

  it("never deletes anything for an empty desired state, even with --allow-mass-delete", () => {
    const changes = diffObjects([], [owned("a"), owned("b")]);
    const refusal = checkPruneGuard(changes, 0, { allowMassDelete: true });
    expect(refusal?.rule).toBe("empty-desired-state");
    expect(refusal?.message).toMatch(/no flag overrides this/);
  });

  it("counts only owned objects: unmanaged ones neither raise the limit nor get deleted", () => {
    const changes = diffObjects(
      [desired("a")],
      [owned("a"), owned("b"), foreign("x1"), foreign("x2"), foreign("x3")],
    );
    expect(checkPruneGuard(changes, 1, { allowMassDelete: false })).toBeUndefined();
    expect(checkPruneGuard(changes, 1, { allowMassDelete: false, maxDelete: 0 })?.rule).toBe("max-delete");
  });
});

describe("dependency levels", () => {
  it("puts each service one level after its deepest dependency", () => {
    const levels = dependencyLevels({
      web: { dependsOn: ["api"] },
      api: { dependsOn: ["db"] },
      db: { dependsOn: [] },
      cache: { dependsOn: [] },
    });
    expect(Object.fromEntries(levels)).toEqual({ api: 1, cache: 0, db: 0, web: 2 });
  });

  it("rejects a dependsOn cycle as invalid config, naming the cycle", () => {
    expect(() =>
      dependencyLevels({ a: { dependsOn: ["b"] }, b: { dependsOn: ["c"] }, c: { dependsOn: ["a"] } }),
    ).toThrow(/cycle: a → b → c → a/);
  });
});
