// A container's health as one container list shows it (no request per container): restart loops,
// failing or never-finishing health checks, stopped containers. The plan turns anything but healthy
// into a change reconcile waits for ("Converged means healthy", docs/reconcile.md).
import { parse } from "yaml";
import type { ObjectHealth } from "../../model.js";

/** What the list request tells about one container (see LiveContainer). */
export interface ListedContainer {
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
  /** Docker's status text: "Up 5 minutes (healthy)", "Restarting (3) 2 seconds ago", "Exited (3) …". */
  status: string;
  /** Unix seconds the container was created. */
  created: number;
  /** The spec as written into its label at create time (restart policy, health check). */
  specLabel: string;
}

/** A restart this recent (for a container created well before it) may be a crash loop: watch it. */
export const RECENT_RESTART_SECONDS = 60;

/**
 * A running container without a health check, up for less than RECENT_RESTART_SECONDS, whose list entry
 * cannot tell a first start from a restart: a container created seconds ago and crash-looping is
 * "Up Less than a second" between two exits. Its restart count (one inspect) tells.
 */
export function needsRestartCount(container: Pick<ListedContainer, "state" | "status">): boolean {
  if (container.state !== "running" || container.status.includes("(health")) return false;
  const up = uptimeSeconds(container.status);
  return up !== undefined && up < RECENT_RESTART_SECONDS;
}

/** Health of such a container from its restart count (Docker counts restarts by its restart policy). */
export function restartedHealth(restartCount: number, status: string): ObjectHealth | undefined {
  if (restartCount <= 0) return undefined;
  return {
    state: "progressing",
    reason: `restarted ${restartCount} time(s) by its restart policy, ${status.replace(/^Up /, "up ")}: not yet known to stay up`,
  };
}

/** Health of a container from its list entry; `now` in ms. */
export function listedHealth(container: ListedContainer, now = Date.now()): ObjectHealth {
  const { state, status } = container;
  if (state === "restarting") {
    const code = /^Restarting \((-?\d+)\)/.exec(status)?.[1];
    return { state: "unhealthy", reason: `keeps restarting${code === undefined ? "" : ` (exit ${code})`}` };
  }
  if (state === "paused") return { state: "unhealthy", reason: "paused" };
  if (state === "created") return { state: "unhealthy", reason: "created but never started" };
  if (state === "exited" || state === "dead" || state === "removing") {
    const code = /^Exited \((-?\d+)\)/.exec(status)?.[1];
    return {
      state: "unhealthy",
      reason: code === undefined ? `${state} (${status})` : `exited with code ${code} (${status})`,
    };
  }
  if (state !== "running") return { state: "progressing", reason: `state ${state} (${status})` };
  if (status.includes("(unhealthy)")) return { state: "unhealthy", reason: "health check failing" };
  const up = uptimeSeconds(status);
  if (status.includes("(health: starting)")) {
    const window = healthWindowSeconds(container.specLabel);
    if (up !== undefined && window !== undefined && up > window) {
      return {
        state: "unhealthy",
        reason: `health check still starting after ${up} s (start period and checks allow ${window} s)`,
      };
    }
    return { state: "progressing", reason: "running, health check starting" };
  }
  if (status.includes("(healthy)") || up === undefined) return { state: "healthy" };
  const age = now / 1000 - container.created;
  if (up < RECENT_RESTART_SECONDS && age > up + 10) {
    return {
      state: "progressing",
      reason: `restarted ${up} s ago (created ${Math.round(age)} s ago): not yet known to stay up`,
    };
  }
  return { state: "healthy" };
}

/** "Up 5 seconds", "Up About a minute", "Up 3 hours (healthy)" → seconds (rounded down to Docker's unit). */
export function uptimeSeconds(status: string): number | undefined {
  const match =
    /^Up (Less than a second|About a minute|About an hour|(\d+) (second|minute|hour|day|week|month|year)s?)/.exec(
      status,
    );
  if (!match) return undefined;
  if (match[1] === "Less than a second") return 0;
  if (match[1] === "About a minute") return 60;
  if (match[1] === "About an hour") return 3600;
  const unit = {
    second: 1,
    minute: 60,
    hour: 3600,
    day: 86_400,
    week: 604_800,
    month: 2_592_000,
    year: 31_536_000,
  };
  return Number(match[2]) * unit[match[3] as keyof typeof unit];
}

/** How long Docker may report `health: starting` for this spec: start period plus every retry's check. */
function healthWindowSeconds(specLabel: string): number | undefined {
  let health: unknown;
  try {
    health = (parse(specLabel) as { health?: unknown } | null)?.health;
  } catch {
    return undefined;
  }
  if (typeof health !== "object" || health === null) return undefined;
  const h = health as Record<string, unknown>;
  const num = (key: string, fallback: number) => (typeof h[key] === "number" ? h[key] : fallback);
  return (
    num("startPeriodSeconds", 0) +
    (num("retries", 3) + 1) * (num("intervalSeconds", 10) + num("timeoutSeconds", 5))
  );
}
