// The diff: desired objects vs actual objects → one Change per subject. Pure: plain data in and out.
import { InvalidInputError } from "../errors.js";
import type { ActualObject, Change, DesiredObject } from "../model.js";
import { encryptedChangeNotes } from "../secrets/changes.js";

function bySubject<T extends { subject: string }>(objects: readonly T[], label: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const object of objects) {
    if (map.has(object.subject)) {
      throw new InvalidInputError(
        `${object.subject} appears twice in the ${label} state: every object needs a unique name.`,
      );
    }
    map.set(object.subject, object);
  }
  return map;
}

/** Why an owned object that exists must be updated, or [] when it matches. */
function updateReasons(desired: DesiredObject, actual: ActualObject): string[] {
  const reasons: string[] = [];
  if (actual.hash !== desired.hash) reasons.push("content changed");
  if (actual.service !== undefined && actual.service !== desired.service) {
    reasons.push(`marker names service ${actual.service}, desired ${desired.service}`);
  }
  for (const drift of actual.drift ?? []) reasons.push(`drift: ${drift}`);
  return reasons;
}

/**
 * Compares desired with actual. Only owned actual objects are updated or deleted; unowned ones are
 * `unmanaged`, and a desired object whose name an unowned one holds is an `unmanaged` conflict.
 * Changes come back sorted by subject, so plans read the same on every run.
 */
export function diffObjects(desired: readonly DesiredObject[], actual: readonly ActualObject[]): Change[] {
  const wanted = bySubject(desired, "desired");
  const live = bySubject(actual, "actual");
  const changes: Change[] = [];
  for (const object of wanted.values()) {
    const found = live.get(object.subject);
    if (found === undefined) {
      changes.push({ action: "create", subject: object.subject, desired: object, notes: [] });
    } else if (!found.owned) {
      changes.push({
        action: "unmanaged",
        subject: object.subject,
        desired: object,
        actual: found,
        conflict: true,
        notes: [
          "conflict: an object sysconfig did not create holds this name; it is left alone. " +
            "Remove or rename it by hand, then reconcile again.",
        ],
      });
    } else {
      const reasons = updateReasons(object, found);
      const sick = found.health !== undefined && found.health.state !== "healthy";
      const blocked = found.blockedBy ?? [];
      if (reasons.length > 0 && blocked.length > 0) {
        changes.push({
          action: "update",
          subject: object.subject,
          desired: object,
          actual: found,
          conflict: true,
          notes: [
            ...blocked.map((b) => `conflict: ${b}; nothing is stopped or changed`),
            ...reasons.filter((r) => r !== "content changed"),
          ],
        });
        continue;
      }
      changes.push({
        action: reasons.length > 0 ? "update" : sick ? "unhealthy" : "unchanged",
        subject: object.subject,
        desired: object,
        actual: found,
        notes: [
          ...reasons.filter((r) => r !== "content changed"),
          ...(reasons.length > 0 ? (object.updateNotes ?? []) : []),
          ...(reasons.length > 0 ? encryptedChangeNotes(found.text, object.text) : []),
        ],
      });
    }
  }
  for (const found of live.values()) {
    if (wanted.has(found.subject)) continue;
    changes.push(
      found.owned
        ? { action: "delete", subject: found.subject, actual: found, notes: [] }
        : { action: "unmanaged", subject: found.subject, actual: found, notes: [] },
    );
  }
  holdDeletes(changes);
  return changes.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
}

/** Subjects named in a held-back delete's note, before "and N more". */
const NAMED = 3;

/**
 * Converged means healthy: while a desired object is not healthy, what is left to delete may be the
 * only thing serving (a rename web → web2 whose new image crash-loops). Each delete says it is held
 * back; the apply engine runs deletes only once every desired object converged, so this holds across
 * runs as well as within one.
 */
function holdDeletes(changes: Change[]): void {
  const sick = changes.filter((c) => c.action === "unhealthy").map((c) => c.subject);
  if (sick.length === 0) return;
  const named =
    sick.slice(0, NAMED).join(", ") + (sick.length > NAMED ? ` and ${sick.length - NAMED} more` : "");
  const note =
    `held back: ${sick.length} desired object(s) are not healthy (${named}); deletes run only once every ` +
    `desired object is healthy, so this reconcile exits 1 unless they recover while it waits`;
  for (const change of changes) if (change.action === "delete") change.notes.push(note);
}

/** The health reason of an `unhealthy` change, for the plan line. */
export function healthReason(change: Change): string | undefined {
  const health = change.actual?.health;
  return health === undefined || health.state === "healthy" ? undefined : health.reason;
}
