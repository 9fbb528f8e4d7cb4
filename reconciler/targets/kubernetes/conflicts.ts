// Server-side apply conflicts as readable lines: which field, and which field manager holds it.
import type { KubernetesRequestError } from "./client.js";

/** `.spec.replicas (managed by "kubectl-edit")` for each conflicting field of a 409 apply. */
export function conflictLines(error: KubernetesRequestError): string[] {
  const lines = error.causes
    .filter((c) => c.reason === "FieldManagerConflict" || c.field !== undefined)
    .map((c) => {
      const manager = /conflict with "([^"]+)"/.exec(c.message ?? "")?.[1];
      return `${c.field ?? "(field)"}${manager === undefined ? "" : ` is managed by "${manager}"`}`;
    });
  return lines.length > 0 ? lines : [error.detail];
}
