// GET /status and GET /healthz: plain documents built from serve's state. The webhook secret and the
// notification URL are never part of them (only whether each is set); plans are masked already.
import type { HealthState } from "./health.js";
import type { Reply } from "./http-server.js";
import { json } from "./http-server.js";
import type { RunRecord, RunStart } from "./run-record.js";

export interface StatusSource {
  version: string;
  startedAt: Date;
  schedule: string;
  nextScheduledRun(): Date | null;
  webhookEnabled: boolean;
  notificationsEnabled: boolean;
  health: HealthState;
  current(): RunStart | undefined;
  queued(): boolean;
  runsFinished(): number;
  stopping(): boolean;
}

export function statusReply(source: StatusSource): Reply {
  const current = source.current();
  const last: RunRecord | undefined = source.health.lastRun;
  const success = source.health.lastSuccess;
  return json(200, {
    sysconfig: source.version,
    startedAt: source.startedAt.toISOString(),
    stopping: source.stopping(),
    healthy: source.health.healthy,
    health: source.health.summary,
    consecutiveFailures: source.health.consecutiveFailures,
    unhealthyAfter: source.health.unhealthyAfter,
    schedule: source.schedule,
    nextScheduledRun: source.nextScheduledRun()?.toISOString() ?? null,
    webhook: { enabled: source.webhookEnabled },
    notifications: { enabled: source.notificationsEnabled },
    running: current
      ? { id: current.id, reasons: current.reasons, startedAt: current.startedAt.toISOString() }
      : null,
    queued: source.queued(),
    runsFinished: source.runsFinished(),
    lastSuccess: success ? { id: success.id, finishedAt: success.finishedAt } : null,
    lastRun: last ?? null,
  });
}

/** 200 while healthy, 503 once --unhealthy-after runs in a row failed: what liveness probes read. */
export function healthReply(health: HealthState): Reply {
  return json(health.healthy ? 200 : 503, {
    healthy: health.healthy,
    consecutiveFailures: health.consecutiveFailures,
    unhealthyAfter: health.unhealthyAfter,
    detail: health.summary,
  });
}
