// The per-system reconcile lock: a marker container with a fixed name, created (never started).
// Creating a container whose name exists fails with 409, atomically, in the engine itself.
// A lock whose holder is provably gone is stale and taken over: only when it was taken through this
// same engine (engine ID) and either its reconciler container on this engine no longer runs, or it
// ran as a process on this very machine (hostname and machine-id) that has exited. A holder on another
// host using the same remote engine can never be checked, so its lock is never taken: any other held
// lock refuses (exit 4) or waits up to --lock-timeout, and the message says how to remove it by hand.
import { readFile } from "node:fs/promises";
import os from "node:os";
import type Dockerode from "dockerode";
import { SafetyRefusalError } from "../../errors.js";
import type { Reporter } from "../../report/reporter.js";
import { lockWaiter, type LockWait } from "../lock-wait.js";
import type { TargetLock } from "../target.js";
import { engineFailure, statusOf } from "./engine-errors.js";
import { LABEL, lockName, ROLE_LOCK } from "./marker.js";

/** An empty image made locally with `docker import` (no registry needed); the marker never runs. */
export const LOCK_IMAGE = "sysconfig-lock:1";
const EMPTY_TAR = Buffer.alloc(1024);
const WAIT_POLL_MS = 1_000;

export async function acquireDockerLock(
  docker: Dockerode,
  system: string,
  owner: string,
  wait: LockWait,
  reporter: Reporter,
): Promise<TargetLock> {
  const name = lockName(system);
  const waiter = lockWaiter(wait);
  const engine = await engineId(docker, system);
  const machine = await machineId();
  const container = await ownContainerId();
  // Our container id means something to a later checker only if it lives on the engine the lock is on.
  const self = container === undefined ? undefined : await visibleOn(docker, container);
  let announced = false;
  for (;;) {
    const labels: Record<string, string> = {
      [LABEL.system]: system,
      [LABEL.role]: ROLE_LOCK,
      [LABEL.lockOwner]: owner,
      [LABEL.lockSince]: new Date().toISOString(),
      [LABEL.lockHost]: os.hostname(),
      [LABEL.lockPid]: String(process.pid),
    };
    if (self) labels[LABEL.lockContainer] = self;
    if (engine) labels[LABEL.lockEngine] = engine;
    if (machine) labels[LABEL.lockMachine] = machine;
    try {
      const marker = await docker.createContainer({
        name,
        Image: LOCK_IMAGE,
        Cmd: ["sysconfig-lock"],
        Labels: labels,
        HostConfig: { NetworkMode: "none" },
      });
      return { release: () => releaseLock(docker, marker.id, name) };
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) {
        await importLockImage(docker, name);
        continue;
      }
      if (status !== 409) throw engineFailure(`docker:${system}`, `lock (create ${name})`, error);
    }
    const holder = await inspectHolder(docker, name);
    if (!holder) continue; // released between our create and our look
    const stale = await staleReason(docker, holder, {
      engine,
      machine,
      inContainer: container !== undefined,
    });
    if (stale) {
      reporter.warn(`docker:${system}: removing a stale lock held by ${describe(holder)}: ${stale}`);
      await releaseLock(docker, holder.Id, name);
      continue;
    }
    waiter.assertNotInterrupted(`docker:${system} lock`);
    if (waiter.expired()) {
      const what =
        wait === false
          ? `docker:${system} lock failed: another reconciler holds the lock (${describe(holder)}, marker container ${name}). ` +
            `Nothing was changed. Wait for it with --wait-lock.`
          : `docker:${system} lock failed: gave up waiting for the lock ${name} held by ${describe(holder)} ` +
            `${waiter.gaveUpAfter}. Nothing was changed.`;
      throw new SafetyRefusalError(
        "lock",
        `${what} sysconfig removes a lock by itself only when its holder provably exited (same engine, and its ` +
          `container stopped or its process on this same machine gone); if you know no reconciler is running ` +
          `(a crashed one on another host), remove the lock by hand: docker rm ${name}`,
      );
    }
    if (!announced) {
      announced = true;
      reporter.info(`docker:${system}: waiting for the lock held by ${describe(holder)}`);
    }
    await waiter.pause(WAIT_POLL_MS);
    waiter.assertNotInterrupted(`docker:${system} lock`);
  }
}

async function releaseLock(docker: Dockerode, id: string, name: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true });
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw engineFailure(`docker:${name}`, "unlock", error);
  }
}

async function importLockImage(docker: Dockerode, name: string): Promise<void> {
  const [repo, tag] = LOCK_IMAGE.split(":");
  try {
    const { Readable } = await import("node:stream");
    const stream = await docker.importImage(Readable.from([EMPTY_TAR]), {
      repo,
      tag,
    });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()));
    });
  } catch (error) {
    throw engineFailure(`docker:${name}`, `lock (import ${LOCK_IMAGE})`, error);
  }
}

async function inspectHolder(
  docker: Dockerode,
  name: string,
): Promise<Dockerode.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw engineFailure(`docker:${name}`, "lock (inspect holder)", error);
  }
}

interface Checker {
  /** This engine's ID, when /info gave one. */
  engine: string | undefined;
  /** This machine's /etc/machine-id, when readable. */
  machine: string | undefined;
  /** This process runs inside a container (its pids mean nothing on the host). */
  inContainer: boolean;
}

/** Why a held lock is stale, or undefined when its holder may still be running (or cannot be checked). */
async function staleReason(
  docker: Dockerode,
  holder: Dockerode.ContainerInspectInfo,
  checker: Checker,
): Promise<string | undefined> {
  const labels = holder.Config.Labels ?? {};
  // A lock from an older sysconfig (no engine ID) or through another engine: nothing here can prove it dead.
  if (checker.engine === undefined || labels[LABEL.lockEngine] !== checker.engine) return undefined;
  const container = labels[LABEL.lockContainer];
  if (container) {
    try {
      const info = await docker.getContainer(container).inspect();
      return info.State.Running
        ? undefined
        : `its reconciler container ${container.slice(0, 12)} has stopped`;
    } catch (error) {
      if (statusOf(error) === 404) return `its reconciler container ${container.slice(0, 12)} is gone`;
      return undefined;
    }
  }
  // A process on this very host (not inside a container, like us): its pid tells whether it still runs.
  const pid = Number(labels[LABEL.lockPid]);
  const sameMachine =
    labels[LABEL.lockHost] === os.hostname() &&
    checker.machine !== undefined &&
    labels[LABEL.lockMachine] === checker.machine;
  if (!checker.inContainer && sameMachine && Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ESRCH"
        ? `its process ${pid} on this host has exited`
        : undefined;
    }
  }
  return undefined;
}

function describe(holder: Dockerode.ContainerInspectInfo): string {
  const labels = holder.Config.Labels ?? {};
  const owner = labels[LABEL.lockOwner] ?? `an unknown owner (pid ${labels[LABEL.lockPid] ?? "?"})`;
  const host = labels[LABEL.lockHost];
  const where = host === undefined || owner.includes(host) ? "" : ` on ${host}`;
  const container = labels[LABEL.lockContainer];
  const inside = container === undefined ? "" : ` in container ${container.slice(0, 12)}`;
  return `${owner}${where}${inside}, since ${labels[LABEL.lockSince] ?? "?"}`;
}

/** The engine's ID from GET /info: which engine a lock was taken through. */
async function engineId(docker: Dockerode, system: string): Promise<string | undefined> {
  try {
    const info = (await docker.info()) as { ID?: string };
    return info.ID === undefined || info.ID === "" ? undefined : info.ID;
  } catch (error) {
    throw engineFailure(`docker:${system}`, "lock (engine info)", error);
  }
}

async function machineId(): Promise<string | undefined> {
  for (const file of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
    try {
      const id = (await readFile(file, "utf8")).trim();
      if (id !== "") return id;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** `id` if that container exists on this engine, else undefined. */
async function visibleOn(docker: Dockerode, id: string): Promise<string | undefined> {
  try {
    await docker.getContainer(id).inspect();
    return id;
  } catch {
    return undefined;
  }
}

/** The id of the container this process runs in, if any (the reconciler inside the config image). */
async function ownContainerId(): Promise<string | undefined> {
  try {
    const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
    return /\/containers\/([0-9a-f]{64})\/(hostname|hosts|resolv\.conf)/.exec(mountinfo)?.[1];
  } catch {
    return undefined;
  }
}
