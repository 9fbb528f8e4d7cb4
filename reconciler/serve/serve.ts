// `sysconfig serve`: a driver of the reconcile pipeline, like the CLI's reconcile command. It runs
// runReconcile at startup, on the schedule and on signed webhooks (one run at a time, triggers during a
// run coalesce into one more), keeps the last result for /healthz, /status and /metrics, and tells the
// chat. stop() starts no new run, lets the running one stop at a safe point, and waits a grace period.
import { summarize } from "../diff/summary.js";
import { reasonOf } from "../errors.js";
import {
  runReconcile,
  type PlannedRun,
  type ReconcileDeps,
  type ReconcileOutcome,
  type ReconcileRequest,
} from "../pipeline/reconcile.js";
import type { EventLog } from "./event-log.js";
import { HealthState } from "./health.js";
import { startHttpServer, type ListenAddress } from "./http-server.js";
import { ServeMetrics } from "./metrics.js";
import { notificationFor } from "./notification.js";
import { createNotifier, type Notifier } from "./notifier.js";
import { recordRun, type RunRecord, type RunStart } from "./run-record.js";
import { RunQueue, type TriggerOutcome } from "./run-queue.js";
import { startSchedule } from "./schedule.js";
import { healthReply, statusReply } from "./status.js";
import { uiAuth } from "./ui/auth.js";
import { EventStream } from "./ui/event-stream.js";
import { releaseMemory } from "./release-memory.js";
import { protect, uiRoutes } from "./ui/routes.js";
import { UiState } from "./ui/ui-state.js";
import { webhookHandler } from "./webhook.js";

export const DEFAULT_LISTEN = "127.0.0.1:9420";
export const DEFAULT_GRACE_SECONDS = 25;

export interface ServeConfig {
  /** What each run reconciles: the same request as `sysconfig reconcile` (never plan-only). */
  request: Omit<ReconcileRequest, "planOnly">;
  schedule: string;
  listen: ListenAddress;
  webhookSecret?: Buffer;
  notifyUrl?: URL;
  unhealthyAfter: number;
  gracePeriodSeconds: number;
  version: string;
  /** --ui-token-file: the page, /status and /events then need this token (bearer or login cookie). */
  uiToken?: Buffer;
}

export interface ServeDeps {
  createTarget: ReconcileDeps["createTarget"];
  env: NodeJS.ProcessEnv;
  log: EventLog;
  /** Hides credentials in URLs (the CLI's redaction), applied to run errors kept for /status. */
  redact(text: string): string;
}

export interface ServeHandle {
  readonly address: ListenAddress;
  /** Trigger a run as the schedule would (tests and benchmarks). */
  trigger(reason: string): TriggerOutcome;
  /** Graceful shutdown; `graceful` is false when the run did not stop within the grace period. */
  stop(reason: string): Promise<{ graceful: boolean }>;
}

export async function startServe(config: ServeConfig, deps: ServeDeps): Promise<ServeHandle> {
  const { log } = deps;
  const startedAt = new Date();
  const health = new HealthState(config.unhealthyAfter);
  const metrics = new ServeMetrics(config.version);
  const shutdown = new AbortController();
  const notifier: Notifier | undefined = config.notifyUrl ? createNotifier(config.notifyUrl, log) : undefined;
  let nextId = 1;
  let finished = 0;
  let current: RunStart | undefined;
  let system: string | undefined;
  const events = new EventStream();
  const ui = new UiState(config.request.repo, events, (text) => deps.redact(text));
  // The page is a bystander: a fault in it is logged and never reaches a run.
  const tellUi = (update: () => void): void => {
    try {
      update();
    } catch (error) {
      log.emit("error", "ui.error", { reason: reasonOf(error) });
    }
  };

  const runOnce = async (reasons: readonly string[]): Promise<void> => {
    const start: RunStart = { id: nextId++, reasons, startedAt: new Date() };
    current = start;
    metrics.runStarted();
    log.emit("info", "run.started", { run: start.id, reasons });
    tellUi(() => ui.runStarted(start));
    const seen: { planned?: PlannedRun; outcome?: ReconcileOutcome; error?: unknown } = {};
    try {
      seen.outcome = await runReconcile(
        { ...config.request, planOnly: false },
        {
          createTarget: deps.createTarget,
          reporter: log.reporter,
          env: deps.env,
          signal: shutdown.signal,
          onPlan: (plan) => {
            seen.planned = plan;
            system = plan.changeSet.system;
            logPlan(log, start.id, plan);
            tellUi(() => ui.planned(start.id, plan));
          },
          onResult: (outcome) => (seen.outcome = outcome),
          onChangeResult: (result) => tellUi(() => ui.changeResult(start.id, result)),
        },
      );
    } catch (error) {
      seen.error = error;
    }
    const record = recordRun(start, new Date(), { ...seen, interrupted: shutdown.signal.aborted }, (text) =>
      deps.redact(text),
    );
    current = undefined;
    finished += 1;
    health.record(record);
    tellUi(() => ui.runFinished(record, seen.outcome ?? seen.planned));
    metrics.runFinished(record, health);
    logFinished(log, record, health);
    const message = notificationFor(record, system === undefined ? {} : { system });
    if (message !== undefined) notifier?.send(message, record.id);
    // Once the finished run's events are written: its garbage goes back to the system.
    setImmediate(releaseMemory);
  };

  const queue = new RunQueue(runOnce);
  const trigger = (reason: string): TriggerOutcome => queue.trigger(reason);

  const schedule = startSchedule(config.schedule, () => {
    const outcome = trigger("schedule");
    if (outcome !== "started") log.emit("debug", "schedule.tick", { run: outcome });
  });
  const statusSource = {
    version: config.version,
    startedAt,
    schedule: config.schedule,
    nextScheduledRun: () => schedule.next(),
    webhookEnabled: config.webhookSecret !== undefined,
    notificationsEnabled: notifier !== undefined,
    health,
    current: () => current,
    queued: () => queue.hasQueued,
    runsFinished: () => finished,
    stopping: () => shutdown.signal.aborted,
  };
  const auth = uiAuth(config.uiToken);
  let server;
  try {
    server = await startHttpServer(
      config.listen,
      {
        "/hooks/reconcile": {
          method: "POST",
          handle: webhookHandler({ secret: config.webhookSecret, trigger, metrics, log }),
          onWrongMethod: () => metrics.webhook("bad_method"),
        },
        "/healthz": { method: "GET", handle: () => healthReply(health) },
        "/status": { method: "GET", handle: protect(auth, () => statusReply(statusSource)) },
        "/metrics": {
          method: "GET",
          handle: async () => {
            const { contentType, body } = await metrics.text();
            return { status: 200, body, contentType };
          },
        },
        ...uiRoutes(
          { version: config.version, state: ui, health, nextScheduledRun: () => schedule.next() },
          events,
          auth,
        ),
      },
      (error) => log.emit("error", "http.error", { reason: reasonOf(error) }),
    );
  } catch (error) {
    events.close();
    await schedule.stop();
    throw error;
  }
  const listening = server;
  log.emit("info", "serve.started", {
    listen: `${listening.address.host}:${listening.address.port}`,
    schedule: config.schedule,
    webhook: config.webhookSecret !== undefined,
    uiToken: config.uiToken !== undefined,
    notify: config.notifyUrl?.host ?? null,
    unhealthyAfter: config.unhealthyAfter,
    gracePeriodSeconds: config.gracePeriodSeconds,
  });
  trigger("startup");

  let stopping: Promise<{ graceful: boolean }> | undefined;
  return {
    address: listening.address,
    trigger,
    stop: (reason) =>
      (stopping ??= (async () => {
        log.emit("info", "serve.stopping", {
          reason,
          running: current?.id ?? null,
          gracePeriodSeconds: config.gracePeriodSeconds,
        });
        queue.stop();
        shutdown.abort();
        events.close(); // open pages' streams would keep the listener from closing
        const closing = Promise.all([schedule.stop(), listening.close()]);
        let timer: NodeJS.Timeout | undefined;
        const graceful = await Promise.race([
          queue.idle().then(() => true),
          new Promise<boolean>(
            (resolve) => (timer = setTimeout(() => resolve(false), config.gracePeriodSeconds * 1000)),
          ),
        ]);
        clearTimeout(timer);
        await closing;
        await notifier?.close(1000);
        log.emit(graceful ? "info" : "error", "serve.stopped", {
          reason,
          graceful,
          ...(graceful
            ? {}
            : { detail: `run #${current?.id ?? "?"} did not stop within ${config.gracePeriodSeconds} s` }),
        });
        return { graceful };
      })()),
  };
}

function logPlan(log: EventLog, run: number, plan: PlannedRun): void {
  const { changeSet } = plan;
  const s = summarize(changeSet.changes);
  log.emit("info", "run.planned", {
    run,
    system: changeSet.system,
    environment: changeSet.environment,
    revision: changeSet.revision,
    target: changeSet.targetKind,
    create: s.create,
    update: s.update,
    delete: s.delete,
    unchanged: s.unchanged,
    unhealthy: s.unhealthy,
    unmanaged: s.unmanaged,
    changes: changeSet.changes
      .filter(
        (c) =>
          c.action === "create" || c.action === "update" || c.action === "delete" || c.action === "unhealthy",
      )
      .map((c) => `${c.action} ${c.subject}`),
  });
}

function logFinished(log: EventLog, record: RunRecord, health: HealthState): void {
  const results = record.plan?.result?.summary;
  log.emit(
    record.result === "success" || record.result === "interrupted" ? "info" : "error",
    "run.finished",
    {
      run: record.id,
      result: record.result,
      seconds: Number(record.durationSeconds.toFixed(3)),
      ...(results
        ? {
            objectsHealthy: results.healthy,
            objectsApplied: results.applied,
            objectsNotConverged: results.failed + results.unhealthy + results.skipped + results.refused,
          }
        : {}),
      ...(record.transient === undefined ? {} : { transient: record.transient }),
      ...(record.error === undefined ? {} : { error: record.error }),
      consecutiveFailures: health.consecutiveFailures,
      healthy: health.healthy,
    },
  );
}
