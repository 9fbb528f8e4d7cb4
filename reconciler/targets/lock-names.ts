// The names reconcile locks take on every target, and the rule that keeps services off them: a lock is
// an object named `sysconfig-lock-<system>` (a Docker marker container, a fleet unit, a Kubernetes
// Lease), so no object a config produces may be named like that — or one system's service would be
// another system's lock, and that system would refuse every run ("held by an unknown owner").
import { InvalidInputError } from "../errors.js";

export const LOCK_NAME_PREFIX = "sysconfig-lock-";

/** The name of `system`'s reconcile lock object on a target. */
export function lockNameOf(system: string): string {
  return `${LOCK_NAME_PREFIX}${system}`;
}

/**
 * Throws InvalidInputError (exit 3) when `name` (a container or unit name the config produces for
 * `service`) is a lock's name. `what` says which kind of object, e.g. "container name".
 */
export function refuseLockName(name: string, what: string, system: string, service: string): void {
  if (!name.startsWith(LOCK_NAME_PREFIX)) return;
  const owner = name.slice(LOCK_NAME_PREFIX.length).replace(/(@\d*)?\.service$/, "");
  throw new InvalidInputError(
    `service '${service}' of system '${system}' makes the ${what} '${name}', which is the name of the ` +
      `reconcile lock of system '${owner}': names starting with '${LOCK_NAME_PREFIX}' are reserved for ` +
      `locks. Rename the service (or the system) in sysconfig.yaml so the name does not start with ` +
      `'${LOCK_NAME_PREFIX}'.`,
  );
}
