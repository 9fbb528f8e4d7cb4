// How the fake fleetd places units and times them, after fleetd v1.0.0: the engine schedules a unit
// only on its reconcile pass (every 2 s by default), on a machine that satisfies the unit's
// [X-Fleet] MachineMetadata= and Conflicts=; the machine's agent starts it on its own pass and
// reports it in /fleet/v1/state from then on. A unit no machine can take never gets a machine and
// has no /state entry. Also what each request costs a real fleetd (it re-reads etcd on every page).
import type { WireOption } from "./wire.js";

/** Real fleetd v1.0.0 figures at 1,000 units (three machines, etcd 3.4), see issue 10. */
export interface FleetTiming {
  /** The engine's reconcile pass: a new unit gets a machine on the next one. */
  enginePassMs: number;
  /** Each agent's pass: it starts what its machine was given and reports the state. */
  agentPassMs: number;
  /** systemd start after the agent's pass, until the unit is active. */
  startMs: number;
  /** Service time of one request; lists cost in proportion to the number of units stored. */
  putMs: number;
  getUnitMs: number;
  deleteMs: number;
  unitsPageMsPerUnit: number;
  statePageMsPerUnit: number;
  machinesMs: number;
  /** Requests fleetd works on at once; more queue. */
  concurrency: number;
}

export const REALISTIC_TIMING: FleetTiming = {
  enginePassMs: 2_000,
  agentPassMs: 2_000,
  startMs: 1_000,
  putMs: 18.5, // sequential PUT: 18.5 ms each
  getUnitMs: 8, // not measured: a single-key etcd read, cheaper than a PUT
  deleteMs: 18.5,
  unitsPageMsPerUnit: 0.18, // /units at 1,000 units: 11 pages ≈ 2.0 s
  statePageMsPerUnit: 0.08, // /state at 1,000 units: 10 pages ≈ 0.8 s
  machinesMs: 5,
  // fleetd serves requests side by side (the no-op read /units and /state together in about
  // the time of /units alone); two at once is the conservative reading of that.
  concurrency: 2,
};

/** The first pass at or after `t` of a ticker with `period` started at `origin`. */
export function nextPass(t: number, period: number, origin: number): number {
  if (period <= 0) return t;
  return origin + Math.ceil((t - origin) / period) * period;
}

interface Placed {
  name: string;
  options: readonly WireOption[];
  machineID: string;
}

interface Machine {
  id: string;
  metadata: Record<string, string>;
}

/** A machine that can take `unit` now, or "" when none can (fleet then leaves it unscheduled). */
export function pickMachine(
  unit: { name: string; options: readonly WireOption[] },
  machines: readonly Machine[],
  placed: readonly Placed[],
  prefer = "",
): string {
  const wanted = metadataOf(unit.options);
  const eligible = machines.filter((m) => {
    for (const [key, values] of wanted) if (!values.has(m.metadata[key] ?? "")) return false;
    return !placed.some(
      (p) =>
        p.machineID === m.id && p.name !== unit.name && (conflicts(unit, p.name) || conflicts(p, unit.name)),
    );
  });
  if (eligible.length === 0) return "";
  if (eligible.some((m) => m.id === prefer)) return prefer;
  let h = 0;
  for (const c of unit.name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return eligible[h % eligible.length]?.id ?? "";
}

/** MachineMetadata=key=value (several per line or several lines; one key's values are alternatives). */
function metadataOf(options: readonly WireOption[]): Map<string, Set<string>> {
  const wanted = new Map<string, Set<string>>();
  for (const o of options) {
    if (o.section !== "X-Fleet" || o.name !== "MachineMetadata") continue;
    for (const pair of o.value.split(/\s+/).filter(Boolean)) {
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const key = pair.slice(0, eq);
      wanted.set(key, (wanted.get(key) ?? new Set()).add(pair.slice(eq + 1)));
    }
  }
  return wanted;
}

/** Whether `unit`'s Conflicts= globs match the unit named `other`. */
function conflicts(unit: { options: readonly WireOption[] }, other: string): boolean {
  return unit.options.some(
    (o) =>
      o.section === "X-Fleet" &&
      o.name === "Conflicts" &&
      o.value
        .split(/\s+/)
        .filter(Boolean)
        .some((glob) => globToRegExp(glob).test(other)),
  );
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
