// Actual state: every unit fleet knows (all pages of /units) joined with /state (all pages), two
// list walks no matter how many units. Ownership is the [X-Sysconfig] marker (marker.ts ownsUnit).
import type { ActualObject, ObjectHealth } from "../../model.js";
import type { FleetClient, FleetUnit, FleetUnitState } from "./client.js";
import { isLockUnit } from "./lock.js";
import { ownsUnit, readMarker, stripMarker, type OwnerScope } from "./marker.js";
import { hideSecretOptions } from "./secret-env.js";
import { maskUnitSecrets } from "../../text/mask.js";
import { fleetUnitHash, serializeUnitOptions } from "./unit-file.js";
import { classify } from "./wait.js";

/** What readActual() records about a live unit. */
export interface FleetActualSpec {
  desiredState: string;
  currentState: string;
  machineID: string;
  /** One entry per machine reporting the unit. */
  states: FleetUnitState[];
  /** The revision recorded in the marker. */
  revision?: string;
  /** Owned units: the hash /state reports for the live unit file (marker included), for health. */
  fleetHash?: string;
}

/** Every page of /units and of /state, walked side by side. */
export type FleetLists = [FleetUnit[], FleetUnitState[]];

export function readFleetLists(client: FleetClient): Promise<FleetLists> {
  return Promise.all([client.listUnits(), client.listStates()]);
}

export async function fleetReadActual(
  client: FleetClient,
  scope: OwnerScope,
  lists: Promise<FleetLists> = readFleetLists(client),
): Promise<ActualObject[]> {
  const [units, states] = await lists;
  const statesByUnit = new Map<string, FleetUnitState[]>();
  for (const s of states) {
    const list = statesByUnit.get(s.name);
    if (list) list.push(s);
    else statesByUnit.set(s.name, [s]);
  }
  const objects: ActualObject[] = [];
  for (const unit of units) {
    if (isLockUnit(unit)) continue;
    const marker = readMarker(unit.options);
    const owned = marker !== undefined && ownsUnit(unit.name, marker, scope);
    // Secret values read back as their references (the marker's fingerprints): never shown, and hashed as applied.
    const content = hideSecretOptions(stripMarker(unit.options), owned ? (marker.secrets ?? []) : []);
    const spec: FleetActualSpec = {
      desiredState: unit.desiredState,
      currentState: unit.currentState,
      machineID: unit.machineID,
      states: statesByUnit.get(unit.name) ?? [],
      ...(owned ? { revision: marker.revision, fleetHash: fleetUnitHash(unit.options) } : {}),
    };
    const object: ActualObject = {
      subject: `fleet:${unit.name}`,
      name: unit.name,
      owned,
      text: maskUnitSecrets(serializeUnitOptions(content)),
      spec,
    };
    if (owned) {
      object.service = marker.service;
      // The content's own hash, not the marker's: a unit edited by hand shows as changed.
      object.hash = fleetUnitHash(content);
      const want = unit.name.includes("@.") ? "inactive" : "launched";
      if (unit.desiredState !== want) {
        object.drift = [`desiredState is '${unit.desiredState || "(none)"}', sysconfig sets '${want}'`];
      } else if (want === "launched") {
        const health = unitHealth(spec);
        if (health.state !== "healthy") object.health = health;
      }
    }
    objects.push(object);
  }
  return objects;
}

/**
 * A launched unit's health from /units and /state: failed on its machine is unhealthy; not scheduled to
 * any machine, not active yet, or a machine still on an older unit file is progressing (not converged).
 */
function unitHealth(spec: FleetActualSpec): ObjectHealth {
  if (spec.machineID === "" && spec.states.length === 0) {
    return {
      state: "progressing",
      reason:
        "not scheduled to any machine (no /fleet/v1/state entry): if it stays so, check its [X-Fleet] " +
        "Conflicts/MachineMetadata against `fleetctl list-machines`",
    };
  }
  const seen = classify(spec.states, spec.fleetHash ?? "", 0, 1);
  switch (seen.state) {
    case "healthy":
      return seen;
    case "failed":
      return { state: "unhealthy", reason: seen.reason };
    case "pending":
      return { state: "progressing", reason: seen.reason ?? "not active yet" };
  }
}
