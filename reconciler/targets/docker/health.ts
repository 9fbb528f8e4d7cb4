// Waits until a container is running and healthy (its Docker health check, or — without one — still
// running after a short settle period), bounded by a deadline; says why when it is not.
import type Dockerode from "dockerode";
import { isSecretName, maskSecrets, redactValues } from "../../plan/mask.js";
import { urlSecretsOf } from "../../text/url-userinfo.js";
import { engineReason, statusOf, withRetry } from "./engine-errors.js";

export type Health = { healthy: true } | { healthy: false; reason: string };

export interface WaitOptions {
  /** Milliseconds since epoch after which the wait gives up. */
  deadline: number;
  /** Aborted on SIGINT/SIGTERM: the wait gives up at once (the next run converges). */
  signal?: AbortSignal;
  /** Without a health check: how long the container must stay up. */
  settleMs: number;
  pollMs: number;
}

export const DEFAULT_WAIT: Omit<WaitOptions, "deadline" | "signal"> = { settleMs: 1_500, pollMs: 400 };

export async function waitContainerHealthy(
  docker: Dockerode,
  idOrName: string,
  options: WaitOptions,
): Promise<Health> {
  const container = docker.getContainer(idOrName);
  let restarts: number | undefined;
  for (;;) {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await withRetry(() => container.inspect());
    } catch (error) {
      if (statusOf(error) === 404)
        return { healthy: false, reason: "the container is gone (removed while starting)" };
      return { healthy: false, reason: `cannot inspect the container: ${engineReason(error)}` };
    }
    const state = info.State;
    restarts ??= info.RestartCount;
    const report = reportWith(secretValuesOf(info));
    if (state.Status === "exited" || state.Status === "dead" || info.RestartCount > restarts) {
      return report(`exited with code ${state.ExitCode}${await lastLogs(container)}`);
    }
    if (state.Status === "restarting") {
      return report(`keeps restarting (last exit code ${state.ExitCode})${await lastLogs(container)}`);
    }
    const health = state.Health;
    if (state.Running && health) {
      if (health.Status === "healthy") return { healthy: true };
      if (health.Status === "unhealthy") {
        return report(`health check failed: ${lastCheck(health) || "no output"}`);
      }
    } else if (state.Running && Date.now() - Date.parse(state.StartedAt) >= options.settleMs) {
      return { healthy: true };
    }
    if (options.signal?.aborted === true) {
      return { healthy: false, reason: `interrupted while waiting (state ${state.Status})` };
    }
    if (Date.now() >= options.deadline) {
      const check = health
        ? `, health ${health.Status}${lastCheck(health) ? `, last check: ${lastCheck(health)}` : ""}`
        : "";
      return report(
        `not healthy before the deadline (state ${state.Status}${check}); raise --timeout if it starts slowly`,
      );
    }
    // Without a health check nothing can change before the settle point but a crash: poll at least
    // every pollMs, and otherwise sleep straight to the settle point (fewer engine requests).
    const settleIn =
      state.Running && !health ? Date.parse(state.StartedAt) + options.settleMs - Date.now() : 0;
    const pause = Math.max(options.pollMs, Math.min(settleIn, 2 * options.pollMs));
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(pause, Math.max(0, options.deadline - Date.now()) + 10)),
    );
  }
}

/** The container's secret environment values (by name, as the plan masks them): never in a reason. */
function secretValuesOf(info: Dockerode.ContainerInspectInfo): string[] {
  return (info.Config.Env ?? []).flatMap((entry) => {
    const eq = entry.indexOf("=");
    if (eq <= 0) return [];
    const value = entry.slice(eq + 1);
    return isSecretName(entry.slice(0, eq)) ? [value] : urlSecretsOf(value);
  });
}

/** An unhealthy report whose reason (container output included) has its secrets masked. */
function reportWith(secrets: readonly string[]): (reason: string) => Health {
  return (reason) => ({ healthy: false, reason: maskSecrets(redactValues(reason, secrets)) });
}

function lastCheck(health: NonNullable<Dockerode.ContainerInspectInfo["State"]["Health"]>): string {
  const last = health.Log?.[health.Log.length - 1];
  return last ? `exit ${last.ExitCode}${last.Output.trim() ? `: ${oneLine(last.Output)}` : ""}` : "";
}

/** The container's last log lines, for failure reasons (non-TTY logs are multiplexed frames). */
async function lastLogs(container: Dockerode.Container): Promise<string> {
  try {
    const raw = await container.logs({
      stdout: true,
      stderr: true,
      tail: 5,
      follow: false,
    });
    const text = demux(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    return text.trim() ? `; last output: ${oneLine(text)}` : "";
  } catch {
    return "";
  }
}

function demux(buffer: Buffer): string {
  let out = "";
  let offset = 0;
  while (offset + 8 <= buffer.length && buffer[offset]! <= 2 && buffer.readUIntBE(offset + 1, 3) === 0) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    offset += 8 + size;
  }
  return offset === 0 ? buffer.toString("utf8") : out;
}

function oneLine(text: string): string {
  const line = text
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" | ");
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
