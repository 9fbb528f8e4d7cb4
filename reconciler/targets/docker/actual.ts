// Reads every container on the host in one list request and sorts them into owned objects (grouped by
// canonical name, with leftovers of interrupted updates) and unowned ones whose names could collide.
import type Dockerode from "dockerode";
import type { ActualObject } from "../../model.js";
import type { ContainerSpec } from "./container-spec.js";
import { listedHealth, needsRestartCount, restartedHealth } from "./actual-health.js";
import { mapBounded } from "../../concurrency/pool.js";
import { engineFailure, withRetry } from "./engine-errors.js";
import { couldCollide, LABEL, nextName, ROLE_SERVICE, subjectOf } from "./marker.js";
import { liveSpecText } from "./secret-fingerprints.js";

/** One container as the list request shows it. */
export interface LiveContainer {
  id: string;
  name: string;
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
  status: string;
  /** Unix seconds it was created. */
  created: number;
  image: string;
  hash?: string;
  labels: Record<string, string>;
}

/** A docker ActualObject's `spec`: the container under the canonical name, and any others for it. */
export interface ActualContainers {
  /** The container under the canonical name, if there is one. */
  primary?: LiveContainer;
  /** Owned containers for the same canonical name under a temporary name (an interrupted update). */
  leftovers: LiveContainer[];
}

export interface ListOptions {
  /** Only containers labelled with this environment are owned (and unlabelled ones this run desires). */
  environment: string;
  /** By canonical name: lets the live spec text show whether each secret changed. */
  desired?: ReadonlyMap<string, ContainerSpec>;
  /**
   * Told about containers of this system that carry no environment label (an older sysconfig) and are
   * not desired by this run, so stay unmanaged. Those it desires by name are owned (updated, never deleted).
   */
  onUnlabelled?: (names: string[]) => void;
  /** The engine's container list, requested early (while the desired state was rendered). */
  prefetched?: Promise<Dockerode.ContainerInfo[]>;
}

/** The engine's list of every container, running or not (one request; retried like every engine call). */
export function requestContainerList(docker: Dockerode): Promise<Dockerode.ContainerInfo[]> {
  return withRetry(() => docker.listContainers({ all: true }));
}

export async function listContainers(
  docker: Dockerode,
  system: string,
  options: ListOptions,
): Promise<ActualObject[]> {
  const desired = options.desired ?? new Map<string, ContainerSpec>();
  let list: Dockerode.ContainerInfo[];
  try {
    list = await (options.prefetched ?? requestContainerList(docker));
  } catch (error) {
    throw engineFailure(`docker:${system}`, "list containers", error);
  }
  const owned = new Map<string, LiveContainer[]>();
  const unowned: ActualObject[] = [];
  const unlabelled: string[] = [];
  for (const info of list) {
    const live = liveOf(info);
    const labels = live.labels;
    const canonical = labels[LABEL.name];
    if (!isMarked(labels, system) || canonical === undefined) {
      if (couldCollide(system, live.name)) {
        unowned.push(unownedObject(live, `# not managed by sysconfig: ${live.image} (${live.status})\n`));
      }
      continue;
    }
    if (!isOwnName(live.name, canonical)) {
      // Marker labels are copied with an image: `docker commit ${system}-web snap && docker run --name
      // web-debug snap` carries our full marker. Only the names sysconfig itself gives a container count.
      unowned.push(
        unownedObject(
          live,
          `# carries the sysconfig labels of ${canonical} but runs as ${live.name} (not a name sysconfig gives ` +
            `it, e.g. run from an image made by docker commit), so it is not managed and never touched: ` +
            `${live.image} (${live.status})\n`,
        ),
      );
      continue;
    }
    const environment = labels[LABEL.environment];
    // An older sysconfig wrote no environment label: such a container cannot be told apart from another
    // environment's, so it counts as ours only while this run desires exactly its canonical name (it is
    // updated or left as it is, never deleted), as fleet does with old unit markers.
    if (environment === options.environment || (environment === undefined && desired.has(canonical))) {
      owned.set(canonical, [...(owned.get(canonical) ?? []), live]);
    } else if (environment === undefined) {
      unlabelled.push(live.name);
      unowned.push(
        unownedObject(
          live,
          `# made by an older sysconfig without an environment label and not in the config of ` +
            `${options.environment}, so not managed (never changed or deleted): ${live.image} (${live.status}). ` +
            `Remove it by hand if it is no longer needed (docker rm -f ${live.name}).\n`,
        ),
      );
    } else {
      unowned.push(
        unownedObject(
          live,
          `# managed by environment ${environment} of ${system}, not ${options.environment}: ${live.image} (${live.status})\n`,
        ),
      );
    }
  }
  if (unlabelled.length > 0) options.onUnlabelled?.(unlabelled.sort());
  const objects = [...owned].map(([canonical, containers]) =>
    ownedObject(canonical, containers, desired.get(canonical)),
  );
  await confirmRestarts(docker, objects);
  blockTemporaryNames(objects, unowned);
  return [...objects, ...unowned].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Inspects at once (each a request to the engine, on the same socket pool as the list). */
const INSPECTS_AT_ONCE = 8;

/**
 * Recently started containers that look healthy in the list: their restart count says whether they
 * started once or are in a crash loop caught between two exits (then the plan shows them progressing,
 * reconcile waits for them, and nothing is pruned). A container gone meanwhile keeps its list verdict.
 */
async function confirmRestarts(docker: Dockerode, objects: ActualObject[]): Promise<void> {
  const candidates = objects.filter((o) => {
    const primary = (o.spec as ActualContainers).primary;
    return o.health === undefined && primary !== undefined && needsRestartCount(primary);
  });
  await mapBounded(candidates, INSPECTS_AT_ONCE, async (object) => {
    const primary = (object.spec as ActualContainers).primary as LiveContainer;
    const info = await withRetry(() => docker.getContainer(primary.id).inspect()).catch(() => undefined);
    const health = info && restartedHealth(info.RestartCount, primary.status);
    if (health) object.health = health;
  });
}

/**
 * Ours (given the environment and the live name match) only with the full marker sysconfig writes at create time. Containers also inherit their image's
 * labels, and the config image itself is labelled io.sysconfig.system: the reconciler's own container
 * (and anything else run from a config image) must never count as a managed service.
 */
function isMarked(labels: Record<string, string>, system: string): boolean {
  return (
    labels[LABEL.system] === system &&
    labels[LABEL.role] === ROLE_SERVICE &&
    labels[LABEL.name] !== undefined &&
    labels[LABEL.hash] !== undefined
  );
}

/** The names sysconfig gives a container: its canonical name, or the temporary one during an update. */
export function isOwnName(liveName: string, canonical: string): boolean {
  return liveName === canonical || liveName === nextName(canonical);
}

function unownedObject(live: LiveContainer, text: string): ActualObject {
  return {
    subject: subjectOf(live.name),
    name: live.name,
    owned: false,
    text,
    spec: { primary: live, leftovers: [] } satisfies ActualContainers,
  };
}

function liveOf(info: Dockerode.ContainerInfo): LiveContainer {
  const labels = info.Labels ?? {};
  const live: LiveContainer = {
    id: info.Id,
    name: (info.Names[0] ?? info.Id).replace(/^\//, ""),
    state: info.State,
    status: info.Status,
    created: info.Created,
    image: info.Image,
    labels,
  };
  const hash = labels[LABEL.hash];
  if (hash !== undefined) live.hash = hash;
  return live;
}

/**
 * An owned object. A live state a finished reconcile never leaves (a leftover temporary container, a
 * container only under its temporary name, a stopped one) is reported as drift: the plan shows an update.
 */
function ownedObject(
  canonical: string,
  containers: LiveContainer[],
  desired: ContainerSpec | undefined,
): ActualObject {
  const primary = containers.find((c) => c.name === canonical);
  const leftovers = containers.filter((c) => c !== primary);
  const shown = primary ?? leftovers[0];
  const drift: string[] = [];
  if (!primary) {
    drift.push(
      `live only under the temporary name ${leftovers.map((c) => c.name).join(", ")} (an interrupted update)`,
    );
  } else if (leftovers.length > 0) {
    drift.push(`${leftovers.map((c) => c.name).join(", ")} left by an interrupted update (to be removed)`);
  }
  if (shown && isStopped(shown)) drift.push(`container is ${shown.state} (${shown.status})`);
  const actual: ActualObject = {
    subject: subjectOf(canonical),
    name: canonical,
    owned: true,
    hash: shown?.hash ?? "",
    text: shown ? liveSpecText(shown.labels[LABEL.spec] ?? "", shown.labels[LABEL.secrets], desired) : "",
    spec: (primary ? { primary, leftovers } : { leftovers }) satisfies ActualContainers,
  };
  if (drift.length > 0) actual.drift = drift;
  const health = shown && healthOf(shown);
  if (health) actual.health = health;
  const service = shown?.labels[LABEL.service];
  if (service !== undefined) actual.service = service;
  return actual;
}

/**
 * The container's health when it is not healthy (a restart loop, a failing or endless health check, a
 * stop its restart policy does not explain); undefined when healthy or stopped as its policy intends.
 */
function healthOf(container: LiveContainer): ActualObject["health"] {
  const stoppedByPolicy =
    (container.state === "exited" || container.state === "dead") && !isStopped(container);
  if (stoppedByPolicy) return undefined;
  const health = listedHealth({
    state: container.state,
    status: container.status,
    created: container.created,
    specLabel: container.labels[LABEL.spec] ?? "",
  });
  return health.state === "healthy" ? undefined : health;
}

/** Not serving although its restart policy says it should be (or never started at all). */
function isStopped(container: LiveContainer): boolean {
  if (container.state === "created") return true;
  if (container.state !== "exited" && container.state !== "dead") return false;
  const restart = /^restart: (\S+)$/m.exec(container.labels[LABEL.spec] ?? "")?.[1] ?? "always";
  if (restart === "no") return false;
  if (restart === "on-failure") return !/Exited \(0\)/.test(container.status);
  return true;
}

/**
 * An update runs the new container under `<name>.next` until the old one is gone: a container sysconfig
 * does not manage under that name would make it fail after the old one was stopped, so the plan refuses it.
 */
function blockTemporaryNames(objects: ActualObject[], unowned: readonly ActualObject[]): void {
  const byName = new Map(unowned.map((o) => [o.name, o]));
  for (const object of objects) {
    const next = nextName(object.name);
    const holder = byName.get(next);
    if (holder === undefined) continue;
    const live = (holder.spec as ActualContainers).primary;
    object.blockedBy = [
      `the temporary name ${next} an update of ${object.name} runs its new container under is held by a ` +
        `container sysconfig does not manage${live ? ` (${live.image}, ${live.status})` : ""}. Remove or rename it ` +
        `(docker rm -f ${next}) and reconcile again`,
    ];
  }
}

export function isActualContainers(spec: unknown): spec is ActualContainers {
  return typeof spec === "object" && spec !== null && "leftovers" in spec;
}
