// Desired fleet units from the rendered files: `rendered/web.service` → unit web.service;
// `rendered/web@.service` → the template web@.service (submitted inactive, as `fleetctl submit` does,
// so operators can still `fleetctl start web@7` by hand) plus instances web@1 … web@N, one roll group.
import type { DesiredObject, DesiredState } from "../../model.js";
import { InvalidInputError } from "../../errors.js";
import { withMarker } from "./marker.js";
import { secretFingerprints } from "./secret-env.js";
import { maskUnitSecrets } from "../../text/mask.js";
import {
  fleetTextHash,
  fleetUnitHash,
  parseUnitFile,
  serializeUnitOptions,
  UnitFileSyntaxError,
  type UnitOption,
} from "./unit-file.js";
import type { DesiredUnitState } from "./client.js";
import { refuseLockName } from "../lock-names.js";
import { checkUnitRules } from "./spec-rules.js";

/** What apply() sends for one unit. */
export interface FleetDesiredSpec {
  /** The options PUT to fleet: the unit plus the ownership marker. */
  options: UnitOption[];
  desiredState: DesiredUnitState;
  /** The hash fleet's /state will report once the new unit file is on its machine. */
  fleetHash: string;
  /** Template units are never launched (fleet refuses) and have nothing to wait for. */
  template: boolean;
}

const RENDERED_UNIT = /^rendered\/([a-z0-9][a-z0-9-]*)(@?)\.service$/;

/**
 * Throws InvalidInputError when fleet could not take one of the rendered units: its name, its syntax, the
 * options fleet refuses, a secret outside an Environment= line. What validate asks; the units' hashes and
 * plan texts, which only a plan needs, are left for fleetDesiredObjects.
 */
export function checkFleetUnits(state: DesiredState): void {
  for (const file of state.files) checkedUnit(state, file);
}

export function fleetDesiredObjects(state: DesiredState): DesiredObject[] {
  const objects: DesiredObject[] = [];
  for (const file of state.files) {
    const unit = checkedUnit(state, file);
    if (unit === undefined) continue;
    const { service, at, options, secrets } = unit;
    const config = state.services[service];
    const { hash, text } = digest(unit);
    const base = {
      service,
      text,
      hash,
      dependsOn: [...(config?.dependsOn ?? [])],
    };
    // Each unit's marker names that unit, so an instance fleetctl copies from the template is not ours.
    const spec = (unit: string, desiredState: DesiredUnitState, template: boolean): FleetDesiredSpec => {
      const wire = withMarker(options, {
        system: state.system,
        environment: state.environment,
        service,
        unit,
        hash,
        revision: state.revision,
        secrets,
      });
      return { options: wire, desiredState, fleetHash: fleetUnitHash(wire), template };
    };
    if (at !== "@") {
      const name = `${service}.service`;
      objects.push({ ...base, subject: `fleet:${name}`, name, spec: spec(name, "launched", false) });
      continue;
    }
    const template = `${service}@.service`;
    objects.push({
      ...base,
      subject: `fleet:${template}`,
      name: template,
      spec: spec(template, "inactive", true),
    });
    const instances = config?.instances ?? 1;
    for (let i = 1; i <= instances; i++) {
      const name = `${service}@${i}.service`;
      objects.push({
        ...base,
        subject: `fleet:${name}`,
        name,
        rollGroup: service,
        rollIndex: i,
        spec: spec(name, "launched", false),
      });
    }
  }
  return objects;
}

interface CheckedUnit {
  content: string;
  service: string;
  /** "@" for a template unit (`web@.service`), else "". */
  at: string;
  options: UnitOption[];
  secrets: string[];
  /** The hash of the unit's text and the unit as the plan shows it (secrets masked), once asked for. */
  digest?: { hash: string; text: string };
}
// The desired-state check (validate, plan) and then the target turn the same rendered files into units:
// each file is parsed and checked once, and hashed and masked once when a plan asks.
const checked = new WeakMap<object, CheckedUnit>();

/** The file's unit, parsed and checked; undefined for a file that is not a unit. */
function checkedUnit(state: DesiredState, file: { path: string; content: string }): CheckedUnit | undefined {
  const known = checked.get(file);
  if (known !== undefined && known.content === file.content) return known;
  const match = RENDERED_UNIT.exec(file.path);
  if (!match) return undefined;
  const [, service = "", at = ""] = match;
  const unitName = `${service}${at}.service`;
  refuseLockName(unitName, "fleet unit name", state.system, service);
  const options = parseRendered(file.path, file.content);
  checkUnitRules(options, unitName, file.path);
  const unit = {
    content: file.content,
    service,
    at,
    options,
    secrets: secretFingerprints(options, file.path),
  };
  checked.set(file, unit);
  return unit;
}

function digest(unit: CheckedUnit): { hash: string; text: string } {
  if (unit.digest !== undefined) return unit.digest;
  // Serialized once: the text fleet hashes is the text the plan shows (masked).
  const serialized = serializeUnitOptions(unit.options);
  unit.digest = { hash: fleetTextHash(serialized), text: maskUnitSecrets(serialized) };
  return unit.digest;
}

function parseRendered(path: string, content: string): UnitOption[] {
  try {
    const options = parseUnitFile(content);
    if (options.length === 0) throw new UnitFileSyntaxError(1, "the unit has no options");
    return options;
  } catch (error) {
    if (error instanceof UnitFileSyntaxError) {
      throw new InvalidInputError(`${path}:${error.message}. Fix the template and re-render.`, {
        cause: error,
      });
    }
    throw error;
  }
}
