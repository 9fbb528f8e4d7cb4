// The ownership marker sysconfig puts on every container it creates, and the names it uses.
import { lockNameOf } from "../lock-names.js";

/**
 * Container labels (DESIGN §6 "Ownership"): only containers carrying SYSTEM = this system and
 * ENVIRONMENT = this environment are ever touched, so staging and production reconcilers sharing one
 * engine never delete each other's containers.
 */
export const LABEL = {
  system: "io.sysconfig.system",
  /** The config-repo branch (environment) whose reconciler created the container. */
  environment: "io.sysconfig.environment",
  service: "io.sysconfig.service",
  /** Hash of the container spec (not of the config revision): equal hash = nothing to do. */
  hash: "io.sysconfig.hash",
  /** Config-repo commit that last changed this container. */
  revision: "io.sysconfig.revision",
  /** The canonical container name; differs from the live name while an update is in flight. */
  name: "io.sysconfig.name",
  instance: "io.sysconfig.instance",
  /** The spec as readable YAML with secrets masked: what `plan` shows as the live side of a diff. */
  spec: "io.sysconfig.spec",
  /** Salted digests of the secret env values (secret-fingerprints.ts); never printed. */
  secrets: "io.sysconfig.secrets",
  /** "service" for managed containers, "lock" for the reconcile lock marker. */
  role: "io.sysconfig.role",
  lockOwner: "io.sysconfig.lock.owner",
  lockSince: "io.sysconfig.lock.since",
  lockHost: "io.sysconfig.lock.host",
  lockPid: "io.sysconfig.lock.pid",
  lockContainer: "io.sysconfig.lock.container",
  /** The engine's ID (GET /info) as the holder saw it, and the holder machine's /etc/machine-id. */
  lockEngine: "io.sysconfig.lock.engine",
  lockMachine: "io.sysconfig.lock.machine",
} as const;

export const ROLE_SERVICE = "service";
export const ROLE_LOCK = "lock";

/** Suffix of the temporary name a new container runs under until the old one is gone. */
const NEXT_SUFFIX = ".next";

/** `<system>-<service>`, or `<system>-<service>-<i>` for a service with several instances. */
export function containerName(system: string, service: string, instance?: number): string {
  return instance === undefined ? `${system}-${service}` : `${system}-${service}-${instance}`;
}

/** Service names never contain ".", so the temporary name can never be another service's name. */
export function nextName(canonical: string): string {
  return `${canonical}${NEXT_SUFFIX}`;
}

export function subjectOf(name: string): string {
  return `docker:container/${name}`;
}

/** The lock marker container's name (a name no service container may take: see lock-names.ts). */
export function lockName(system: string): string {
  return lockNameOf(system);
}

/** Names an unowned container could have and still collide with one sysconfig would create. */
export function couldCollide(system: string, name: string): boolean {
  if (!name.startsWith(`${system}-`)) return false;
  const rest = name.slice(system.length + 1).replace(/\.next$/, "");
  return /^[a-z0-9][a-z0-9-]*$/.test(rest);
}
