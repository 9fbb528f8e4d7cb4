// fleet's own rules for a unit, checked when the rendered files are read (validate, render, bump, build and
// plan all read them), so what fleetd would refuse at PUT — or accept and then never schedule as meant — is
// refused before anything changes, with the file and the option named (exit 3). The rules are fleetd
// v1.0.0's: api.ValidateOptions (go-systemd's line bound, the [X-Fleet] combinations it refuses) and
// job.ValidateRequirements (the [X-Fleet] keys it knows).
import { InvalidInputError } from "../../errors.js";
import { escapeControls } from "../../text/escape.js";
import { LOCK_SECTION } from "./lock.js";
import { MARKER_SECTION } from "./marker.js";
import type { UnitOption } from "./unit-file.js";

/** go-systemd's SYSTEMD_LINE_MAX: fleetd refuses a unit with a serialized line this long ("line too long"). */
export const FLEET_LINE_MAX = 2048;

/** The [X-Fleet] keys fleet knows (job.validRequirements), deprecated spellings included. */
const KNOWN_KEYS = new Set([
  "MachineID",
  "X-ConditionMachineID",
  "X-ConditionMachineBootID",
  "X-ConditionMachineOf",
  "MachineOf",
  "X-Conflicts",
  "Conflicts",
  "X-ConditionMachineMetadata",
  "MachineMetadata",
  "Global",
]);

/** Problems of one unit's own options (before the marker), each "[Section] Key: …"; [] when fleet takes it. */
export function unitProblems(options: readonly UnitOption[], unitName: string): string[] {
  const problems: string[] = [];
  for (const option of options) {
    const bytes = Buffer.byteLength(`${option.name}=${option.value}`);
    if (bytes >= FLEET_LINE_MAX) {
      problems.push(
        `[${option.section}] ${shown(option.name)}: the line is ${bytes} bytes, and fleet refuses a unit with a ` +
          `line of ${FLEET_LINE_MAX} bytes or more (continuation lines are joined into one on the way to fleet). ` +
          `Shorten it: fewer or shorter values, or move them to an EnvironmentFile or a script`,
      );
    }
  }
  for (const section of new Set(options.map((o) => o.section))) {
    const lower = section.toLowerCase();
    if ([MARKER_SECTION, LOCK_SECTION].some((own) => lower === own.toLowerCase())) {
      problems.push(
        `[${shown(section)}]: the section is sysconfig's own (its ownership marker or its lock), written by ` +
          `sysconfig itself; rename it`,
      );
    }
  }
  const fleet = options.filter((o) => o.section === "X-Fleet");
  for (const option of fleet) {
    if (!KNOWN_KEYS.has(option.name)) {
      problems.push(
        `[X-Fleet] ${shown(option.name)}: not an option fleet knows (fleetctl refuses it; the API stores it and ` +
          `the scheduler ignores it, placing the unit as if it were not there). Known: MachineID, MachineOf, ` +
          `MachineMetadata, Conflicts, Global`,
      );
    }
  }
  const values = (...keys: string[]) =>
    fleet.filter((o) => keys.includes(o.name)).map((o) => specifiers(o.value, unitName));
  for (const value of values("MachineMetadata", "X-ConditionMachineMetadata")) {
    for (const pair of value.split(/\s+/).filter(Boolean)) {
      const parts = pair.split("=");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
        problems.push(
          `[X-Fleet] MachineMetadata: '${shown(pair)}' is not key=value; fleet ignores it, so the unit could ` +
            `land on any machine`,
        );
      }
    }
  }
  const globals = values("Global");
  const lastGlobal = globals[globals.length - 1];
  if (lastGlobal !== undefined && !["true", "false"].includes(lastGlobal.toLowerCase())) {
    problems.push(`[X-Fleet] Global: '${shown(lastGlobal)}' reads as false to fleet; write true or false`);
  }
  const machineIDs = values("MachineID", "X-ConditionMachineID", "X-ConditionMachineBootID");
  const peers = values("MachineOf", "X-ConditionMachineOf");
  const conflicts = values("Conflicts", "X-Conflicts");
  const global = lastGlobal?.toLowerCase() === "true";
  const pairs: [boolean, string][] = [
    [machineIDs.length > 0 && peers.length > 0, "MachineID cannot be used with MachineOf"],
    [machineIDs.length > 0 && conflicts.length > 0, "MachineID cannot be used with Conflicts"],
    [machineIDs.length > 0 && global, "MachineID cannot be used with Global"],
    [global && peers.length > 0, "Global cannot be used with MachineOf"],
    [global && conflicts.length > 0, "Global cannot be used with Conflicts"],
  ];
  for (const [clash, rule] of pairs) {
    if (clash) problems.push(`[X-Fleet]: ${rule}; fleet refuses the unit. Keep one of them`);
  }
  for (const peer of peers) {
    for (const conflict of conflicts) {
      if (globMatches(conflict, peer)) {
        problems.push(
          `[X-Fleet]: MachineOf=${shown(peer)} matches Conflicts=${shown(conflict)}: the unit must be both with ` +
            `and away from that unit, and fleet refuses it`,
        );
      }
    }
  }
  return problems;
}

/** Throws InvalidInputError naming the file and every problem fleet would refuse. */
export function checkUnitRules(options: readonly UnitOption[], unitName: string, file: string): void {
  const problems = unitProblems(options, unitName);
  if (problems.length === 0) return;
  const issues = problems.map((p) => `${file}: ${p}`);
  throw new InvalidInputError(
    `${file} is a unit fleet would refuse:\n  ${issues.join("\n  ")}\n` +
      `Fix the service's fleet template (or its values in sysconfig.yaml) and render again.`,
    { issues },
  );
}

/** fleet's unitPrintf: %n, %N, %p and %i of the unit's name, as fleet reads [X-Fleet] values. */
function specifiers(value: string, unitName: string): string {
  const dot = unitName.lastIndexOf(".");
  const base = dot === -1 ? unitName : unitName.slice(0, dot);
  const at = base.indexOf("@");
  const prefix = at === -1 ? base : base.slice(0, at);
  const instance = at === -1 ? "" : base.slice(at + 1);
  return value
    .replaceAll("%n", unitName)
    .replaceAll("%N", base)
    .replaceAll("%p", prefix)
    .replaceAll("%i", instance);
}

/** Go's path.Match for the globs fleet uses ('*' and '?' within a name, no '/'). */
function globMatches(glob: string, name: string): boolean {
  const body = glob
    .replace(/[.+^${}()|\\[\]]/g, "\\$&")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`).test(name);
}

/** A key or value as an error shows it: control characters visible, at most 60 characters. */
function shown(text: string): string {
  const visible = escapeControls(text);
  return visible.length > 60 ? `${visible.slice(0, 57)}...` : visible;
}
