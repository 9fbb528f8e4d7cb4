// Health of live Kubernetes objects (health.ts): kstatus conventions and the per-kind rules, with literals.
import { describe, expect, it } from "@jest/globals";
import { hasHealth, objectHealth } from "../reconciler/targets/kubernetes/health.js";
import type { KubeObject } from "../reconciler/targets/kubernetes/desired.js";

const object = (
  apiVersion: string,
  kind: string,
  fields: Record<string, unknown>,
  generation = 1,
): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name: "x", namespace: "shop", generation },
  ...fields,
});

describe("kubernetes object health", () => {
  it("counts an object without status as healthy once applied", () => {
    expect(objectHealth(object("networking.k8s.io/v1", "Ingress", { spec: {} }))).toEqual({
      state: "healthy",
    });
    expect(objectHealth(object("example.com/v1", "Widget", { spec: { size: 1 } }))).toEqual({
      state: "healthy",
    });
  });

  it("is progressing until the controller observed the current generation", () => {
    const live = object("example.com/v1", "Widget", { status: { observedGeneration: 1 } }, 2);
    expect(objectHealth(live)).toEqual({
      state: "progressing",
      reason: "waiting for the controller to observe generation 2 (seen 1)",
    });
  });

  it("reads Ready false as progressing and Stalled or Progressing false as unhealthy, with the controller's words", () => {
    const conditions = (c: Record<string, string>[]) =>
      objectHealth(object("example.com/v1", "Widget", { status: { observedGeneration: 1, conditions: c } }));
    expect(conditions([{ type: "Ready", status: "False", reason: "Waiting", message: "issuing" }])).toEqual({
      state: "progressing",
      reason: "not ready: Waiting: issuing",
    });
    expect(conditions([{ type: "Stalled", status: "True", reason: "Invalid", message: "bad spec" }])).toEqual(
      {
        state: "unhealthy",
        reason: "stalled: Invalid: bad spec",
      },
    );
    expect(conditions([{ type: "Progressing", status: "False", reason: "Failed" }])).toEqual({
      state: "unhealthy",
      reason: "not progressing: Failed",
    });
    expect(conditions([{ type: "Ready", status: "True" }])).toEqual({ state: "healthy" });
  });

  it("waits for a CustomResourceDefinition to be Established and reports names not accepted", () => {
    const crd = (conditions: Record<string, string>[]) =>
      objectHealth(object("apiextensions.k8s.io/v1", "CustomResourceDefinition", { status: { conditions } }));
    expect(crd([]).state).toBe("progressing");
    expect(crd([{ type: "Established", status: "True" }])).toEqual({ state: "healthy" });
    expect(crd([{ type: "NamesAccepted", status: "False", reason: "ListKindConflict" }])).toEqual({
      state: "unhealthy",
      reason: "names not accepted: ListKindConflict",
    });
  });

  it("needs a PVC Bound, a Job complete, and a LoadBalancer Service an address", () => {
    expect(objectHealth(object("v1", "PersistentVolumeClaim", { status: { phase: "Pending" } })).state).toBe(
      "progressing",
    );
    expect(objectHealth(object("v1", "PersistentVolumeClaim", { status: { phase: "Bound" } })).state).toBe(
      "healthy",
    );
    const job = (conditions: Record<string, string>[]) =>
      objectHealth(object("batch/v1", "Job", { status: { conditions, active: 1 } }));
    expect(job([]).state).toBe("progressing");
    expect(job([{ type: "Complete", status: "True" }]).state).toBe("healthy");
    expect(job([{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }])).toEqual({
      state: "unhealthy",
      reason: "job failed: BackoffLimitExceeded",
    });
    const lb = (status: Record<string, unknown>) =>
      objectHealth(object("v1", "Service", { spec: { type: "LoadBalancer" }, status }));
    expect(lb({ loadBalancer: {} }).state).toBe("progressing");
    expect(lb({ loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } }).state).toBe("healthy");
    expect(objectHealth(object("v1", "Service", { spec: { type: "ClusterIP" }, status: {} })).state).toBe(
      "healthy",
    );
  });

  it("lists for health only kinds that carry a status", () => {
    expect(hasHealth(object("v1", "ConfigMap", {}))).toBe(false);
    expect(hasHealth(object("networking.k8s.io/v1", "NetworkPolicy", {}))).toBe(false);
    expect(hasHealth(object("v1", "Service", { spec: {} }))).toBe(false);
    expect(hasHealth(object("v1", "Service", { spec: { type: "LoadBalancer" } }))).toBe(true);
    expect(hasHealth(object("policy/v1", "PodDisruptionBudget", {}))).toBe(true);
    expect(hasHealth(object("example.com/v1", "Widget", {}))).toBe(true);
  });
});
