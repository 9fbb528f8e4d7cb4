// The docker target (DESIGN §6): one Docker host through dockerode. Services are containers carrying
// sysconfig's labels; this file only wires the per-concern modules behind the Target interface.
import type Dockerode from "dockerode";
import type { TargetConfig } from "../../config/schema.js";
import { InternalError } from "../../errors.js";
import type { Change, HealthReport } from "../../model.js";
import type { Target, TargetOptions } from "../target.js";
import { applyChange, type ApplyDeps } from "./apply.js";
import { connectDocker, dockerAddress } from "./client.js";
import type { ContainerSpec } from "./container-spec.js";
import { dockerDesiredObjects } from "./desired.js";
import { DEFAULT_WAIT, waitContainerHealthy, type WaitOptions } from "./health.js";
import { acquireDockerLock } from "./lock.js";
import { listContainers } from "./read-actual.js";

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
          ? { value: options.endpoint, from: "--endpoint" }
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
  const deps: ApplyDeps = {
    docker,
    environment,
    env: options.env,
    reporter: options.reporter,
    imagesPresent: new Set(),
  };
  if (options.wait) deps.wait = options.wait;
  // The plan reads desired state first: the live side of a diff then shows whether a secret changed.
  let desiredSpecs = new Map<string, ContainerSpec>();
  return {
    kind: "docker",
    desiredObjects: (state) => {
      const objects = dockerDesiredObjects(state);
      desiredSpecs = new Map(objects.map((o) => [o.name, o.spec]));
      return objects;
    },
    readActual: (system) =>
      listContainers(docker, system, {
        environment,
        desired: desiredSpecs,
        onUnlabelled: (names) =>
          options.reporter.warn(
            `docker: ${names.length} container(s) of ${system} carry no environment label (made by an older ` +
              `sysconfig) and are not in the config of ${environment}: ${names.join(", ")}. They are not managed ` +
              `and never changed or deleted; remove them by hand (docker rm -f NAME) if they are no longer needed.`,
          ),
      }),
    apply: (change, context) => applyChange(deps, change, context),
    waitHealthy: (change, context) =>
      waitHealthy(docker, change, {
        ...DEFAULT_WAIT,
        ...options.wait,
        deadline: context.deadline,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    acquireLock: (system, owner, wait) => acquireDockerLock(docker, system, owner, wait, options.reporter),
    close: () => Promise.resolve(),
  };
}

async function waitHealthy(docker: Dockerode, change: Change, wait: WaitOptions): Promise<HealthReport> {
  if (change.action !== "create" && change.action !== "update")
    return { subject: change.subject, healthy: true };
  const name = change.desired?.name ?? change.subject;
  const health = await waitContainerHealthy(docker, name, wait);
  return health.healthy
    ? { subject: change.subject, healthy: true }
    : { subject: change.subject, healthy: false, reason: health.reason };
}
