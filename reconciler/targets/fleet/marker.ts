// The ownership marker: an [X-Sysconfig] section appended to every unit sysconfig writes (systemd
// ignores X- sections; fleet stores them verbatim). The hash excludes the marker and the revision,
// so a new config revision that leaves a unit's content alone does not replace the unit.
import type { UnitOption } from "./unit-file.js";

export const MARKER_SECTION = "X-Sysconfig";

export interface UnitMarker {
  system: string;
  service: string;
  /** fleetUnitHash of the unit's options without the marker. */
  hash: string;
  /** Config revision that last wrote the unit. */
  revision: string;
}

export function withMarker(options: readonly UnitOption[], marker: UnitMarker): UnitOption[] {
  return [
    ...stripMarker(options),
    { section: MARKER_SECTION, name: "System", value: marker.system },
    { section: MARKER_SECTION, name: "Service", value: marker.service },
    { section: MARKER_SECTION, name: "Hash", value: marker.hash },
    { section: MARKER_SECTION, name: "Revision", value: marker.revision },
  ];
}

export function stripMarker(options: readonly UnitOption[]): UnitOption[] {
  return options.filter((o) => o.section !== MARKER_SECTION);
}

/** The marker of a live unit, or undefined when it has none (or an incomplete one). */
export function readMarker(options: readonly UnitOption[]): UnitMarker | undefined {
  const fields = new Map<string, string>();
  for (const o of options) if (o.section === MARKER_SECTION) fields.set(o.name, o.value);
  const system = fields.get("System");
  const service = fields.get("Service");
  if (!system || !service) return undefined;
  return { system, service, hash: fields.get("Hash") ?? "", revision: fields.get("Revision") ?? "" };
}
