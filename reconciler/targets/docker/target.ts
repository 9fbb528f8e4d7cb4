// The docker target (DESIGN §6): one Docker host through dockerode. Services are containers carrying
// sysconfig's labels; this file only wires the per-concern modules behind the Target interface.
import type Dockerode from "dockerode";
import type { TargetConfig } from "../../config/schema.js";
import { InternalError } from "../../errors.js";
import type { Change } from "../../model.js";
import type { SharedPoll } from "../shared-poll.js";
import type { HealthCheck, Target, TargetOptions } from "../target.js";
import { applyChange, type ApplyDeps } from "./apply.js";
import { connectDocker, dockerAddress } from "./client.js";
import type { ContainerSpec } from "./container-spec.js";
import { dockerDesiredObjects } from "./desired.js";
import { ContainerHealth, containerWatch, DEFAULT_WAIT, type WaitOptions } from "./wait.js";
import { acquireDockerLock } from "./lock.js";
import { listContainers, requestContainerList } from "./actual.js";

export interface DockerTargetOptions extends TargetOptions {
  /** A ready client (benchmarks pass one that counts requests); default: connect to the endpoint. */
  docker?: Dockerode;
  /** Health-wait tuning (tests shorten the settle period). */
  wait?: Partial<Omit<WaitOptions, "deadline" | "signal">>;
}

export function createDockerTarget(
  config: Extract<TargetConfig, { kind: "docker" }>,
  options: DockerTargetOptions,
): Target {
  const docker =
    options.docker ??
    connectDocker(
      dockerAddress(
        options.endpoint !== undefined
          ? { value: options.endpoint, from: options.endpointSource ?? "--endpoint" }
          : config.endpoint !== undefined
            ? {
                value: config.endpoint,
                from: `the ${options.environment ?? ""} environment's target.endpoint`,
              }
            : undefined,
        options.env,
      ),
      options.env,
      options.requestTimeoutMs,
    );
  const environment = options.environment;
  if (environment === undefined || environment === "") {
    throw new InternalError(
      "docker target: no environment given; it is part of the ownership labels (createTarget needs options.environment)",
    );
  }
  const wait = { ...DEFAULT_WAIT, ...options.wait };
  const started = new Set<string>();
  const health = new ContainerHealth(docker, wait.settleMs, started);
  // One watch per run (its signal is the run's): updates waiting inside apply and the engine's polls
  // of checkHealth share it, so N containers cost one list per poll.
  let watch: SharedPoll<string> | undefined;
  const deps: ApplyDeps = {
    docker,
    environment,
    env: options.env,
    reporter: options.reporter,
    imagesPresent: new Set(),
    started,
    watch: (signal) => (watch ??= containerWatch(health, wait.pollMs, signal)),
  };
  if (options.wait) deps.wait = options.wait;
  // The plan reads desired state first: the live side of a diff then shows whether a secret changed.
  let desiredSpecs = new Map<string, ContainerSpec>();
  /** The first read's container list, requested while the desired state is rendered. */
  let early: Promise<Dockerode.ContainerInfo[]> | undefined;
  return {
    kind: "docker",
    prefetchActual: () => {
      early = requestContainerList(docker);
      early.catch(() => undefined); // a run that ends first (a config error) leaves nothing unhandled
    },
    desiredObjects: (state) => {
      const objects = dockerDesiredObjects(state);
      desiredSpecs = new Map(objects.map((o) => [o.name, o.spec]));
      return objects;
    },
    readActual: (system) => {
      const prefetched = early;
      early = undefined; // the read under the lock lists again
      return listContainers(docker, system, {
        ...(prefetched === undefined ? {} : { prefetched }),
        environment,
        desired: desiredSpecs,
        onUnlabelled: (names) =>
          options.reporter.warn(
            `docker: ${names.length} container(s) of ${system} carry no environment label (made by an older ` +
              `sysconfig) and are not in the config of ${environment}: ${names.join(", ")}. They are not managed ` +
              `and never changed or deleted; remove them by hand (docker rm -f NAME) if they are no longer needed.`,
          ),
      });
    },
    apply: (change, context) => applyChange(deps, change, context),
    checkHealth: (changes) => checkHealth(health, changes),
    healthPolling: { initialMs: wait.pollMs, maxMs: 4 * wait.pollMs },
    acquireLock: (system, owner, wait) => acquireDockerLock(docker, system, owner, wait, options.reporter),
    close: () => Promise.resolve(),
  };
}

/** One container list answers for every created, updated or not-yet-healthy container. */
async function checkHealth(
  health: ContainerHealth,
  changes: readonly Change[],
): Promise<Map<string, HealthCheck>> {
  const answers = new Map<string, HealthCheck>();
  const names = new Map<string, string>();
  for (const change of changes) {
    if (change.action !== "create" && change.action !== "update" && change.action !== "unhealthy")
      answers.set(change.subject, { state: "healthy" });
    else names.set(change.subject, change.desired?.name ?? change.subject);
  }
  if (names.size === 0) return answers;
  const byName = await health.check([...names.values()]);
  for (const [subject, name] of names) {
    answers.set(subject, byName.get(name) ?? { state: "pending" });
  }
  return answers;
}
