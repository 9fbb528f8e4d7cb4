// Container health for many containers at once: one container list per poll answers for every
// container waited on (running, exited, restarting, and the health check's verdict from its status).
// A container is inspected only when the list cannot decide: to read why it failed, and — without a
// health check — to confirm it has stayed up for the settle period without restarting.
import type Dockerode from "dockerode";
import { isSecretName, maskSecrets, redactValues } from "../../text/mask.js";
import { healthOf, SharedPoll, type Health } from "../shared-poll.js";
import type { HealthCheck } from "../target.js";
import { urlSecretsOf } from "../../text/url-userinfo.js";
import { engineReason, statusOf, withRetry } from "./engine-errors.js";

export interface WaitOptions {
  /** Milliseconds since epoch after which the wait gives up. */
  deadline: number;
  /** Aborted on SIGINT/SIGTERM: the wait gives up at once (the next run converges). */
  signal?: AbortSignal;
  /** Without a health check: how long the container must stay up. */
  settleMs: number;
  /** First poll after a start; later polls back off to four times this. */
  pollMs: number;
}

/** Docker resets a container's restart backoff once it has run this long: a start it trusts. */
const TRUSTED_UPTIME_MS = 10_000;

export const DEFAULT_WAIT: Omit<WaitOptions, "deadline" | "signal"> = { settleMs: 1_500, pollMs: 250 };

/** Classifies containers (by id or name) from one list, remembering restart counts between polls. */
export class ContainerHealth {
  /** Restart count when first inspected, for containers this run did not start itself. */
  private readonly baseline = new Map<string, number>();

  constructor(
    private readonly docker: Dockerode,
    private readonly settleMs: number,
    /** Ids of containers this run created and started: their restart count starts at 0. */
    private readonly started: ReadonlySet<string> = new Set(),
  ) {}

  async check(keys: readonly string[]): Promise<Map<string, HealthCheck>> {
    const list = await withRetry(() => this.docker.listContainers({ all: true }));
    const answers = new Map<string, HealthCheck>();
    await Promise.all(
      keys.map(async (key) => {
        const found = list.find((c) => c.Id === key || c.Names.includes(`/${key}`));
        answers.set(key, await this.classify(found));
      }),
    );
    return answers;
  }

  private async classify(c: Dockerode.ContainerInfo | undefined): Promise<HealthCheck> {
    if (!c) return { state: "failed", reason: "the container is gone (removed while starting)" };
    if (c.State === "created") return { state: "pending", reason: "created, not started yet" };
    if (c.State !== "running") return this.failure(c.Id);
    if (/\(healthy\)/.test(c.Status)) return { state: "healthy" };
    if (/\(unhealthy\)/.test(c.Status)) return this.failure(c.Id);
    if (/\(health: starting\)/.test(c.Status)) {
      return { state: "pending", reason: "running, health check starting" };
    }
    if (Date.now() - c.Created * 1000 < this.settleMs)
      return { state: "pending", reason: "running, settling" };
    return this.settled(c.Id);
  }

  /** No health check: up for settleMs since its (last) start, and never restarted. */
  private async settled(id: string): Promise<HealthCheck> {
    const info = await this.inspect(id);
    if ("state" in info) return info;
    const baseline = this.started.has(id) ? 0 : (this.baseline.get(id) ?? info.RestartCount);
    this.baseline.set(id, baseline);
    if (info.RestartCount > baseline || !info.State.Running) return this.failure(id, info);
    // A container this run did not start may be in a crash loop that runs a few seconds each time:
    // it must stay up as long as Docker takes to trust a start (its restart backoff resets after 10 s).
    const settle = this.started.has(id) ? this.settleMs : Math.max(this.settleMs, TRUSTED_UPTIME_MS);
    if (Date.now() - Date.parse(info.State.StartedAt) >= settle) return { state: "healthy" };
    return { state: "pending", reason: "running, settling" };
  }

  /** Why a container is not healthy, with its last output; secrets masked. */
  private async failure(id: string, known?: Dockerode.ContainerInspectInfo): Promise<HealthCheck> {
    const info = known ?? (await this.inspect(id));
    if ("state" in info) return info;
    const state = info.State;
    const report = reportWith(secretValuesOf(info));
    const container = this.docker.getContainer(id);
    if (state.Status === "exited" || state.Status === "dead" || (known && state.Running)) {
      return report(`exited with code ${state.ExitCode}${await lastLogs(container)}`);
    }
    if (state.Status === "restarting" || !state.Running) {
      return report(`keeps restarting (last exit code ${state.ExitCode})${await lastLogs(container)}`);
    }
    const health = state.Health;
    if (health?.Status === "unhealthy")
      return report(`health check failed: ${lastCheck(health) || "no output"}`);
    return { state: "pending", reason: `state ${state.Status}` };
  }

  private async inspect(id: string): Promise<Dockerode.ContainerInspectInfo | HealthCheck> {
    try {
      return await withRetry(() => this.docker.getContainer(id).inspect());
    } catch (error) {
      if (statusOf(error) === 404)
        return { state: "failed", reason: "the container is gone (removed while starting)" };
      return { state: "pending", reason: `cannot inspect the container: ${engineReason(error)}` };
    }
  }
}

/** A shared watch over one engine: concurrent waits share one container list per poll. */
export function containerWatch(
  health: ContainerHealth,
  pollMs: number,
  signal?: AbortSignal,
): SharedPoll<string> {
  return new SharedPoll<string>(
    (keys) => health.check(keys),
    { initialMs: pollMs, maxMs: 4 * pollMs },
    signal,
  );
}

/** Waits for one container: the docker target's shared watch, or a one-off watch for it alone. */
export async function waitContainerHealthy(
  docker: Dockerode,
  idOrName: string,
  options: WaitOptions,
  watch: SharedPoll<string> = containerWatch(
    new ContainerHealth(docker, options.settleMs),
    options.pollMs,
    options.signal,
  ),
): Promise<Health> {
  return healthOf(await watch.wait(idOrName, idOrName, options.deadline), {
    timeout: (last) =>
      `not healthy before the deadline (${last ?? "no report"}); raise --timeout if it starts slowly`,
    interrupted: (last) => `interrupted while waiting (${last ?? "no report"})`,
  });
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
function reportWith(secrets: readonly string[]): (reason: string) => HealthCheck {
  return (reason) => ({ state: "failed", reason: maskSecrets(redactValues(reason, secrets)) });
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
