// Applies one create, update or delete to the Docker host. An update starts the new container under a
// temporary name, waits until it is healthy, then removes the old one and takes over its name; it
// stops the old one first only when a host port forces it, and restarts it if the new one fails.
import type Dockerode from "dockerode";
import { InternalError, reasonOf, RuntimeFailureError } from "../../errors.js";
import type { Change } from "../../model.js";
import type { Reporter } from "../../report/reporter.js";
import type { ApplyContext } from "../target.js";
import { sendsNothing } from "../apply-change.js";
import { specHash, specText, stopFirstReason, type ContainerSpec } from "./container-spec.js";
import { hasReference } from "../../secrets/reference.js";
import { NO_SECRET_VALUES } from "../../secrets/open.js";
import { createBody } from "./create-body.js";
import { resolveSecretEnv } from "./secret-env.js";
import { isContainerSpec } from "./desired.js";
import { engineFailure, engineReason, statusOf } from "./engine-errors.js";
import { DEFAULT_WAIT, waitContainerHealthy, type WaitOptions } from "./wait.js";
import type { SharedPoll } from "../shared-poll.js";
import { ensureImage } from "./image.js";
import { nextName } from "./marker.js";
import { SECRET_PLACEHOLDER, secretFingerprints } from "./secret-fingerprints.js";
import { isActualContainers, isOwnName, type ActualContainers, type LiveContainer } from "./actual.js";

export interface ApplyDeps {
  docker: Dockerode;
  /** Written into the ownership labels of every container created. */
  environment: string;
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  wait?: Partial<Omit<WaitOptions, "deadline" | "signal">>;
  /** Images known to be on the host during this run (see ensureImage). */
  imagesPresent?: Set<string>;
  /** Ids of the containers this run started (their restart count starts at 0). */
  started?: Set<string>;
  /** The target's shared container watch (one list per poll for every update waiting at once). */
  watch?: (signal?: AbortSignal) => SharedPoll<string>;
}

/** Seconds the old container gets to stop gracefully before it is killed. */
const STOP_TIMEOUT_SECONDS = 10;

export async function applyChange(deps: ApplyDeps, change: Change, context: ApplyContext): Promise<void> {
  if (sendsNothing(change.action)) return;
  switch (change.action) {
    case "create":
      return createContainer(deps, desiredSpec(change), change.subject, context);
    case "update":
      return updateContainer(deps, desiredSpec(change), actualContainers(change), change.subject, context);
    case "delete":
      return deleteContainers(deps, actualContainers(change), change.actual?.name ?? "", change.subject);
  }
}

async function createContainer(deps: ApplyDeps, spec: ContainerSpec, subject: string, context: ApplyContext) {
  await ensureImage(deps.docker, spec.image, subject, deps.env, deps.reporter, deps.imagesPresent);
  await startNew(deps, spec, spec.name, subject, context);
}

async function updateContainer(
  deps: ApplyDeps,
  spec: ContainerSpec,
  actual: ActualContainers,
  subject: string,
  context: ApplyContext,
): Promise<void> {
  const { docker, reporter } = deps;
  const hash = specHash(spec);
  const old = await recoverInterrupted(deps, spec, actual, subject);
  if (old.hash === hash && old.state === "running") {
    reporter.info(`${subject}: finished an interrupted update (the new container was already running)`);
    return;
  }
  await ensureImage(docker, spec.image, subject, deps.env, reporter, deps.imagesPresent);
  const stopFirst = stopFirstReason(spec) !== undefined && old.state === "running";
  if (stopFirst) {
    reporter.info(`${subject}: stopping the old container first (it holds the host port)`);
    await stopContainer(docker, old.id, subject);
  }
  const temporary = nextName(spec.name);
  let next: Dockerode.Container;
  try {
    next = await startNew(deps, spec, temporary, subject, context);
  } catch (error) {
    const left = await restoreOld(docker, old, subject, reporter);
    throw new RuntimeFailureError(sentences(reasonOf(error), left), { cause: error });
  }
  // The wait reads only the shared container list, so the apply slot sends other changes meanwhile.
  const waitHealthy = () =>
    waitContainerHealthy(
      docker,
      next.id,
      {
        ...DEFAULT_WAIT,
        ...deps.wait,
        deadline: context.deadline,
        ...(context.signal ? { signal: context.signal } : {}),
      },
      deps.watch?.(context.signal),
    );
  const health = await (context.outsideLimit ? context.outsideLimit(waitHealthy) : waitHealthy());
  if (!health.healthy) {
    await removeContainer(docker, next.id, subject, true);
    const left = await restoreOld(docker, old, subject, reporter);
    throw new RuntimeFailureError(
      sentences(
        `${subject} update failed: the new container (${spec.image}) was not healthy: ${health.reason}`,
        `It was removed. ${left}`,
      ),
    );
  }
  await stopContainer(docker, old.id, subject);
  await removeContainer(docker, old.id, subject, true);
  await renameContainer(docker, next.id, spec.name, subject);
}

/**
 * Brings an interrupted update back to "one container under the canonical name": if only the temporary
 * one survived, it takes the canonical name; other leftovers are removed. Returns the container to replace.
 */
async function recoverInterrupted(
  deps: ApplyDeps,
  spec: ContainerSpec,
  actual: ActualContainers,
  subject: string,
): Promise<LiveContainer> {
  let primary = actual.primary?.name === spec.name ? actual.primary : undefined;
  // Only the temporary name an update uses counts as a leftover: a container elsewhere that merely
  // carries our labels (copied by docker commit) is never renamed or removed (actual.ts skips those too).
  let leftovers = actual.leftovers.filter((c) => c.name === nextName(spec.name));
  if (!primary) {
    const survivor = leftovers.find((c) => c.state === "running") ?? leftovers[0];
    if (!survivor) throw new InternalError(`${subject} update failed: no live container to update`);
    deps.reporter.info(`${subject}: ${survivor.name} takes the canonical name (an update was interrupted)`);
    await renameContainer(deps.docker, survivor.id, spec.name, subject);
    primary = { ...survivor, name: spec.name };
    leftovers = leftovers.filter((c) => c !== survivor);
  }
  for (const leftover of leftovers) {
    deps.reporter.info(`${subject}: removing ${leftover.name}, left by an interrupted update`);
    await removeContainer(deps.docker, leftover.id, subject, true);
  }
  return primary;
}

async function deleteContainers(
  deps: ApplyDeps,
  actual: ActualContainers,
  canonical: string,
  subject: string,
): Promise<void> {
  const all = [...(actual.primary ? [actual.primary] : []), ...actual.leftovers].filter((c) =>
    isOwnName(c.name, canonical),
  );
  for (const container of all) {
    await stopContainer(deps.docker, container.id, subject);
    await removeContainer(deps.docker, container.id, subject, true);
  }
}

/** Creates and starts a container; one that cannot start is removed again, leaving nothing half-done. */
async function startNew(
  deps: ApplyDeps,
  spec: ContainerSpec,
  liveName: string,
  subject: string,
  context: ApplyContext,
): Promise<Dockerode.Container> {
  const secrets = secretFingerprints(spec);
  // The engine gets the decrypted values; the labels keep the references (ciphertext fingerprints) only.
  const resolved = resolveSecretEnv(spec, context.secrets ?? NO_SECRET_VALUES);
  const body = createBody(resolved, liveName, {
    system: context.system,
    environment: deps.environment,
    revision: context.revision,
    hash: specHash(spec),
    text: specText(spec, (value) => (hasReference(value) ? value : SECRET_PLACEHOLDER)),
    ...(secrets === undefined ? {} : { secrets }),
  });
  let container: Dockerode.Container;
  try {
    container = await deps.docker.createContainer(body);
  } catch (error) {
    if (statusOf(error) === 409) {
      throw new RuntimeFailureError(
        `${subject} create failed: the name ${liveName} is taken by a container sysconfig does not manage; ` +
          `rename or remove it (docker rm ${liveName}) and reconcile again.`,
        { cause: error },
      );
    }
    throw engineFailure(subject, "create", error);
  }
  try {
    await container.start();
    deps.started?.add(container.id);
  } catch (error) {
    await removeContainer(deps.docker, container.id, subject, true).catch(() => undefined);
    throw engineFailure(subject, "start", error);
  }
  return container;
}

/** How long a restarted old container must stay up before the report says it serves. */
const RESTORE_CHECK_MS = 1_000;

/**
 * After a failed update: makes sure the old container runs — it was stopped first for its host port,
 * or an earlier run was killed mid-update and left it exited — and says what was checked. "Keeps
 * serving" is only said of a container the engine just reported running.
 */
async function restoreOld(
  docker: Dockerode,
  old: LiveContainer,
  subject: string,
  reporter: Reporter,
): Promise<string> {
  const container = docker.getContainer(old.id);
  let started = false;
  if ((await runningState(container)) !== "running") {
    try {
      await container.start();
      started = true;
      reporter.info(`${subject}: started the old container ${old.name} again`);
    } catch (error) {
      if (statusOf(error) !== 304) {
        reporter.warn(`${subject}: could not start the old container ${old.name}: ${engineReason(error)}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, RESTORE_CHECK_MS));
  }
  const now = await runningState(container);
  if (now === "running") {
    return started
      ? `The old container ${old.name} was started again and is running (checked).`
      : `The old container ${old.name} is running (checked) and keeps serving.`;
  }
  return (
    `The old container ${old.name} is not running (${now}): the service is DOWN (stopped, not removed). ` +
    `Start it by hand (docker start ${old.name}) or fix the new version and reconcile again.`
  );
}

/** "running", or what the engine says instead (exited with code N, restarting, gone, …). */
async function runningState(container: Dockerode.Container): Promise<string> {
  try {
    const state = (await container.inspect()).State;
    if (state.Running && !state.Restarting && !state.Paused) return "running";
    if (state.Restarting) return `restarting, last exit code ${state.ExitCode}`;
    return `${state.Status}, exit code ${state.ExitCode}`;
  } catch (error) {
    return statusOf(error) === 404 ? "removed" : `cannot inspect: ${engineReason(error)}`;
  }
}

/** Two messages as sentences: "a. B", never "a.. B". */
function sentences(first: string, second: string): string {
  return `${first.replace(/[.\s]+$/, "")}. ${second}`;
}

async function stopContainer(docker: Dockerode, id: string, subject: string): Promise<void> {
  try {
    await docker.getContainer(id).stop({ t: STOP_TIMEOUT_SECONDS });
  } catch (error) {
    const status = statusOf(error);
    if (status === 304 || status === 404) return; // already stopped / already gone
    throw engineFailure(subject, "stop", error);
  }
}

async function removeContainer(
  docker: Dockerode,
  id: string,
  subject: string,
  force: boolean,
): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force });
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) return;
    if (status === 409 && /already in progress/.test(String(error))) return;
    throw engineFailure(subject, "remove", error);
  }
}

async function renameContainer(docker: Dockerode, id: string, name: string, subject: string): Promise<void> {
  try {
    await docker.getContainer(id).rename({ name });
  } catch (error) {
    throw engineFailure(subject, `rename to ${name}`, error);
  }
}

function desiredSpec(change: Change): ContainerSpec {
  const spec = change.desired?.spec;
  if (!isContainerSpec(spec))
    throw new InternalError(`${change.subject} ${change.action} failed: no container spec`);
  return spec;
}

function actualContainers(change: Change): ActualContainers {
  const spec = change.actual?.spec;
  if (!isActualContainers(spec))
    throw new InternalError(`${change.subject} ${change.action} failed: no live container`);
  return spec;
}
