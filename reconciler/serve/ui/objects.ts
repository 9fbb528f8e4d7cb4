// What the page lists under "Objects": every object of the last plan with its state, derived from the
// plan's action, the apply result and (when the target reports it) the live object's health.
import type { ChangeResult } from "../../apply/result.js";
import type { Change } from "../../model.js";
import { maskSecrets } from "../../text/mask.js";
import { kindOf, nameOf } from "./kind.js";

export type ObjectState = "healthy" | "progressing" | "unhealthy" | "drifted" | "unmanaged";

export interface ObjectView {
  subject: string;
  /** "" for an unmanaged neighbour that names no service. */
  service: string;
  kind: string;
  name: string;
  state: ObjectState;
  reason?: string;
}

type Health = { state: "healthy" } | { state: "progressing" | "unhealthy"; reason: string };

/** The live object's health when the target reports one; read defensively (older targets have none). */
function healthOf(change: Change): Health | undefined {
  const health: unknown = (change.actual as { health?: unknown } | undefined)?.health;
  if (typeof health !== "object" || health === null) return undefined;
  const { state, reason } = health as { state?: unknown; reason?: unknown };
  if (state === "healthy") return { state };
  if (state === "progressing" || state === "unhealthy") {
    return { state, reason: typeof reason === "string" ? reason : "" };
  }
  return undefined;
}

function stateOf(change: Change, result: ChangeResult | undefined): Pick<ObjectView, "state" | "reason"> {
  if (change.action === "unmanaged") {
    return change.conflict === true
      ? { state: "unmanaged", reason: "not created by sysconfig, but holds the name of a desired object" }
      : { state: "unmanaged" };
  }
  if (result !== undefined) {
    switch (result.status) {
      case "healthy":
      case "applied":
        return { state: "healthy" };
      case "unhealthy":
        return { state: "unhealthy", reason: result.reason ?? "not healthy after apply" };
      case "failed":
        // The target's reason already names the object and the operation ("… update failed: …").
        return { state: "unhealthy", reason: result.reason ?? `${change.action} failed` };
      case "refused":
        return { state: "unhealthy", reason: `${change.action} refused: ${result.reason ?? ""}` };
      case "skipped":
        return { state: "drifted", reason: `${change.action} skipped: ${result.reason ?? ""}` };
    }
  }
  if (change.action !== "unchanged") {
    const why = change.notes.length > 0 ? change.notes.join("; ") : `${change.action} pending`;
    return { state: "drifted", reason: why };
  }
  const health = healthOf(change);
  if (health === undefined || health.state === "healthy") return { state: "healthy" };
  return { state: health.state, reason: health.reason || health.state };
}

/** The objects of a plan (deleted ones left out once their delete applied), ordered by service and subject. */
export function objectViews(changes: readonly Change[], results: readonly ChangeResult[] = []): ObjectView[] {
  const bySubject = new Map(results.map((r) => [r.subject, r]));
  const views: ObjectView[] = [];
  for (const change of changes) {
    const result = bySubject.get(change.subject);
    if (
      change.action === "delete" &&
      result !== undefined &&
      (result.status === "applied" || result.status === "healthy")
    )
      continue;
    const { state, reason } = stateOf(change, result);
    views.push({
      subject: change.subject,
      service: change.desired?.service ?? change.actual?.service ?? "",
      kind: kindOf(change.subject),
      name: nameOf(change.subject),
      state,
      ...(reason !== undefined && reason !== "" ? { reason: maskSecrets(reason) } : {}),
    });
  }
  return views.sort((a, b) => a.service.localeCompare(b.service) || a.subject.localeCompare(b.subject));
}
