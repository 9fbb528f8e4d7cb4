// The ownership marker: an [X-Sysconfig] section appended to every unit sysconfig writes (systemd
// ignores X- sections; fleet stores them verbatim). The hash excludes the marker and the revision,
// so a new config revision that leaves a unit's content alone does not replace the unit.
//
// The marker names the exact unit it was written for (Unit=) and the environment that wrote it
// (Environment=). `fleetctl start web@7.service` copies the template's text — marker included — into
// the new instance, so a marker only proves ownership of the unit it names; and staging and prod
// reconcilers sharing one cluster each own only the units their own environment wrote.
import type { UnitOption } from "./unit-file.js";

export const MARKER_SECTION = "X-Sysconfig";

export interface UnitMarker {
  system: string;
  /** The environment (config branch) whose reconcile wrote the unit; absent in old markers. */
  environment?: string;
  service: string;
  /** The unit name the marker was written for; absent in old markers. */
  unit?: string;
  /** fleetUnitHash of the unit's options without the marker. */
  hash: string;
  /** Config revision that last wrote the unit. */
  revision: string;
  /** `NAME=age:…` of each encrypted value in the unit (secret-env.ts); absent when it has none. */
  secrets?: string[];
}

/** Who is asking: the system and environment of this reconcile and the unit names it wants. */
export interface OwnerScope {
  system: string;
  /** Undefined when the caller did not say: then no unit with an Environment= marker is owned. */
  environment: string | undefined;
  /** Unit names this run desires; undefined when unknown (then no old-style marker is owned). */
  desired: ReadonlySet<string> | undefined;
}

/** What sysconfig writes today: every field present. */
export type WrittenMarker = UnitMarker & { environment: string; unit: string };

export function withMarker(options: readonly UnitOption[], marker: WrittenMarker): UnitOption[] {
  return [
    ...stripMarker(options),
    { section: MARKER_SECTION, name: "System", value: marker.system },
    { section: MARKER_SECTION, name: "Environment", value: marker.environment },
    { section: MARKER_SECTION, name: "Service", value: marker.service },
    { section: MARKER_SECTION, name: "Unit", value: marker.unit },
    { section: MARKER_SECTION, name: "Hash", value: marker.hash },
    { section: MARKER_SECTION, name: "Revision", value: marker.revision },
    ...(marker.secrets && marker.secrets.length > 0
      ? [{ section: MARKER_SECTION, name: "Secrets", value: marker.secrets.join(",") }]
      : []),
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
  const environment = fields.get("Environment");
  const unit = fields.get("Unit");
  return {
    system,
    ...(environment !== undefined ? { environment } : {}),
    service,
    ...(unit !== undefined ? { unit } : {}),
    hash: fields.get("Hash") ?? "",
    revision: fields.get("Revision") ?? "",
    ...(fields.get("Secrets") ? { secrets: (fields.get("Secrets") ?? "").split(",") } : {}),
  };
}

/**
 * Whether the unit `unitName` carrying `marker` belongs to this reconcile: same system, a marker
 * written for exactly this unit name, by this environment. A marker from an older sysconfig (no Unit=
 * or no Environment=) cannot tell a hand-started template instance or another environment's unit from
 * our own, so it counts only for a unit this run desires by that exact name: such a unit is updated
 * as before, but never deleted — it shows as unmanaged once it leaves the config.
 */
export function ownsUnit(unitName: string, marker: UnitMarker | undefined, scope: OwnerScope): boolean {
  if (marker?.system !== scope.system) return false;
  if (marker.unit !== undefined && marker.unit !== unitName) return false;
  if (marker.environment !== undefined && marker.environment !== scope.environment) return false;
  if (marker.unit !== undefined && marker.environment !== undefined) return true;
  return scope.desired?.has(unitName) === true;
}
