// GET /metrics: Prometheus metrics through prom-client, in a registry of this serve instance only.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { changedCount, RUN_RESULTS, type RunRecord } from "./run-record.js";

export type WebhookOutcome = "accepted" | "unauthorized" | "too_large" | "bad_method" | "disabled";

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({
    name: "sysconfig_runs_total",
    help: "Reconcile runs by result (success, failed, refused, invalid, interrupted).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "sysconfig_run_duration_seconds",
    help: "Duration of reconcile runs.",
    labelNames: ["result"] as const,
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  private readonly drifted = new Gauge({
    name: "sysconfig_objects_drifted",
    help: "Objects the last plan found out of line with the desired state (to create, update or delete, or not healthy).",
    registers: [this.registry],
  });
  private readonly changed = new Counter({
    name: "sysconfig_objects_changed_total",
    help: "Objects created, updated or deleted by serve's runs.",
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: "sysconfig_last_success_timestamp_seconds",
    help: "Unix time the last successful run finished (0: none yet).",
    registers: [this.registry],
  });
  private readonly failures = new Gauge({
    name: "sysconfig_consecutive_failures",
    help: "Runs in a row that did not succeed.",
    registers: [this.registry],
  });
  private readonly healthy = new Gauge({
    name: "sysconfig_healthy",
    help: "1 while /healthz answers 200, 0 once --unhealthy-after runs in a row failed.",
    registers: [this.registry],
  });
  private readonly running = new Gauge({
    name: "sysconfig_run_in_progress",
    help: "1 while a run is going.",
    registers: [this.registry],
  });
  private readonly webhooks = new Counter({
    name: "sysconfig_webhook_requests_total",
    help: "Webhook requests by outcome (accepted, unauthorized, too_large, bad_method, disabled).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly buildInfo = new Gauge({
    name: "sysconfig_build_info",
    help: "Always 1: sysconfig's version and the system, environment and config revision being reconciled.",
    labelNames: ["version", "system", "environment", "revision"] as const,
    registers: [this.registry],
  });

  constructor(private readonly version: string) {
    collectDefaultMetrics({ register: this.registry, prefix: "sysconfig_" });
    for (const result of RUN_RESULTS) this.runs.inc({ result }, 0);
    this.lastSuccess.set(0);
    this.healthy.set(1);
    this.running.set(0);
    this.failures.set(0);
    this.buildInfo.set({ version, system: "", environment: "", revision: "" }, 1);
  }

  runStarted(): void {
    this.running.set(1);
  }

  runFinished(record: RunRecord, health: { healthy: boolean; consecutiveFailures: number }): void {
    this.running.set(0);
    this.runs.inc({ result: record.result });
    this.duration.observe({ result: record.result }, record.durationSeconds);
    this.changed.inc(changedCount(record));
    this.failures.set(health.consecutiveFailures);
    this.healthy.set(health.healthy ? 1 : 0);
    if (record.result === "success") this.lastSuccess.set(Date.parse(record.finishedAt) / 1000);
    if (record.plan) {
      const s = record.plan.summary;
      this.drifted.set(s.create + s.update + s.delete + s.unhealthy);
      this.buildInfo.reset();
      this.buildInfo.set(
        {
          version: this.version,
          system: record.plan.system,
          environment: record.plan.environment,
          revision: record.plan.revision,
        },
        1,
      );
    }
  }

  webhook(outcome: WebhookOutcome): void {
    this.webhooks.inc({ outcome });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
