// One failure message for many failures: the first few named with their reason, the rest counted by
// distinct reason, and the full list kept in the JSON report. Plain data, no target.
import { describe, expect, it } from "@jest/globals";
import { summarizeFailures } from "../reconciler/apply/failure-summary.js";
import type { ChangeResult } from "../reconciler/apply/result.js";
import type { ChangeSet } from "../reconciler/model.js";
import { failureOf } from "../reconciler/pipeline/reconcile.js";
import { planJson } from "../reconciler/plan/json.js";

const failedUnit = (i: number): ChangeResult => ({
  subject: `fleet:web@${i}.service`,
  action: "create",
  status: "failed",
  reason: `fleet PUT units/web@${i}.service failed: Internal Server Error (HTTP 500) ${"x".repeat(200)}`,
});

describe("the exit-1 message for changes that did not converge", () => {
  const results: ChangeResult[] = [
    ...Array.from({ length: 480 }, (_, i) => failedUnit(i + 1)),
    ...Array.from({ length: 15 }, (_, i): ChangeResult => ({
      subject: `fleet:api@${i + 1}.service`,
      action: "update",
      status: "unhealthy",
      reason: "not healthy within --timeout (300 s); last seen: failed",
    })),
    ...Array.from({ length: 5 }, (_, i): ChangeResult => ({
      subject: `fleet:db@${i + 1}.service`,
      action: "create",
      status: "skipped",
      reason: "dependency api did not converge",
    })),
    { subject: "fleet:ok.service", action: "create", status: "healthy" },
  ];
  const changeSet: ChangeSet = {
    system: "acme",
    environment: "staging",
    revision: "0123456789abcdef",
    targetKind: "fleet",
    changes: [],
  };

  it("names five with their reason, then 'and N more' with the distinct reasons counted, in a few hundred bytes per reason", () => {
    const message = failureOf({ desired: {} as never, changeSet, results })?.message ?? "";
    expect(message).toContain("500 of 501 change(s) did not converge");
    for (const i of [1, 2, 3, 4, 5]) expect(message).toContain(`fleet:web@${i}.service (failed: fleet PUT`);
    expect(message).not.toContain("fleet:web@6.service");
    expect(message).toContain(
      "and 495 more (475 × failed: fleet PUT units/<object> failed: Internal Server Error",
    );
    expect(message).toContain("15 × unhealthy: not healthy within --timeout (300 s); last seen: failed");
    expect(message).toContain("5 × skipped: dependency api did not converge");
    expect(message).toContain("--output json");
    expect(message.length).toBeLessThan(3000);
  });

  it("counts reasons beyond the fifth distinct one together", () => {
    const many = Array.from({ length: 20 }, (_, i): ChangeResult => ({
      subject: `docker:s${i}`,
      action: "create",
      status: "failed",
      reason: `reason number ${i % 10}`,
    }));
    const text = summarizeFailures(many);
    expect(text).toMatch(/and 15 more \(.*; \d+ with \d+ other reason\(s\)\)$/);
    expect(text.split(" × ")).toHaveLength(6);
  });

  it("lists every failure with its full reason in --output json", () => {
    const json = planJson(changeSet, { results }) as { result: { changes: ChangeResult[] } };
    expect(json.result.changes.filter((c) => c.status !== "healthy")).toHaveLength(500);
    expect(json.result.changes[479]?.reason).toBe(failedUnit(480).reason);
  });
});
