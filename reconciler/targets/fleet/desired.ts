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

export function fleetDesiredObjects(state: DesiredState): DesiredObject[] {
  const objects: DesiredObject[] = [];
  for (const file of state.files) {
    const match = RENDERED_UNIT.exec(file.path);
    if (!match) continue;
    const [, service = "", at] = match;
    refuseLockName(`${service}${at}.service`, "fleet unit name", state.system, service);
    const config = state.services[service];
    const { options, hash, text } = parsedUnit(file);
    checkUnitRules(options, `${service}${at}.service`, file.path);
    const secrets = secretFingerprints(options, file.path);
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

interface ParsedUnit {
  content: string;
  options: UnitOption[];
  hash: string;
  /** The unit as the plan shows it, secrets masked. */
  text: string;
}
// The desired-state check (validate, plan) and then the target turn the same rendered files into units:
// each file is parsed, hashed and masked once.
const parsed = new WeakMap<object, ParsedUnit>();

function parsedUnit(file: { path: string; content: string }): ParsedUnit {
  const known = parsed.get(file);
  if (known !== undefined && known.content === file.content) return known;
  const options = parseRendered(file.path, file.content);
  // Serialized once: the text fleet hashes is the text the plan shows (masked).
  const serialized = serializeUnitOptions(options);
  const unit = {
    content: file.content,
    options,
    hash: fleetTextHash(serialized),
    text: maskUnitSecrets(serialized),
  };
  parsed.set(file, unit);
  return unit;
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
