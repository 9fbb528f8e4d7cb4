// The plan (and the apply result) as one JSON document for machines: `--output json`.
import { summarizeResults, type ChangeResult, type ResultSummary } from "../apply/result.js";
import { summarize, type ChangeSummary } from "../diff/summary.js";
import type { Action, ChangeSet, ObjectHealth } from "../model.js";
import { maskSecrets } from "../text/mask.js";
import { changePatch, maskedChangeNote } from "./patch.js";
import { uncommittedLine } from "./text.js";

export interface PlanJson {
  system: string;
  environment: string;
  revision: string;
  /** Uncommitted files under rendered/ that the plan includes (a working checkout), with a message. */
  uncommitted?: { files: string[]; message: string };
  target: { kind: string; endpoint?: string };
  changes: {
    action: Action;
    subject: string;
    service?: string;
    conflict?: true;
    /** The live object's health when it is not healthy (action `unhealthy`, or an update/delete of one). */
    health?: ObjectHealth;
    notes: string[];
    diff?: string;
  }[];
  summary: ChangeSummary;
  /** Present after apply. */
  result?: { changes: ChangeResult[]; summary: ResultSummary };
  /** Present when a safety rule refused the plan (exit 4). */
  refused?: { rule: string; message: string };
}

export function planJson(
  changeSet: ChangeSet,
  extra: {
    endpoint?: string;
    results?: readonly ChangeResult[];
    refused?: { rule: string; message: string };
  } = {},
): PlanJson {
  const doc: PlanJson = {
    system: changeSet.system,
    environment: changeSet.environment,
    revision: changeSet.revision,
    ...(changeSet.uncommitted && changeSet.uncommitted.length > 0
      ? { uncommitted: { files: changeSet.uncommitted, message: uncommittedLine(changeSet.uncommitted) } }
      : {}),
    target:
      extra.endpoint === undefined
        ? { kind: changeSet.targetKind }
        : { kind: changeSet.targetKind, endpoint: extra.endpoint },
    changes: changeSet.changes.map((change) => {
      const diff = changePatch(change);
      const service = change.desired?.service ?? change.actual?.service;
      const health = change.actual?.health;
      return {
        action: change.action,
        subject: change.subject,
        ...(service !== undefined ? { service } : {}),
        ...(change.conflict === true ? { conflict: true as const } : {}),
        ...(health !== undefined && health.state !== "healthy"
          ? { health: { state: health.state, reason: maskSecrets(health.reason) } }
          : {}),
        notes: [
          ...change.notes.map(maskSecrets),
          ...[maskedChangeNote(change)].filter((n) => n !== undefined),
        ],
        ...(diff !== undefined ? { diff } : {}),
      };
    }),
    summary: summarize(changeSet.changes),
  };
  if (extra.results) {
    doc.result = {
      changes: extra.results.map((r) =>
        r.reason === undefined ? r : { ...r, reason: maskSecrets(r.reason) },
      ),
      summary: summarizeResults(extra.results),
    };
  }
  if (extra.refused) doc.refused = extra.refused;
  return doc;
}
