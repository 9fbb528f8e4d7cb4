// What the page shows, kept up to date by serve's run hooks: the header facts of the last plan, the
// objects with their states, the run in progress and the last runs. Each hook also tells the open
// pages (EventStream); nothing here waits on a client or throws into a run.
import type { ChangeResult } from "../../apply/result.js";
import type { PlannedRun, ReconcileOutcome } from "../../pipeline/reconcile.js";
import { maskSecrets } from "../../text/mask.js";
import { maskUrlUserinfo } from "../../text/url-userinfo.js";
import type { RunRecord, RunStart } from "../run-record.js";
import type { EventStream } from "./event-stream.js";
import { objectViews, type ObjectView } from "./objects.js";
import { revisionInfo, type RevisionInfo } from "./revision.js";
import {
  CHANGES_PER_RUN,
  listedChanges,
  RunHistory,
  runView,
  type RunChangeView,
  type RunView,
} from "./run-history.js";

export interface HeaderFacts {
  system: string;
  environment: string;
  revision: RevisionInfo;
  targetKind: string;
  /** Credentials masked; undefined when the target's default is used. */
  endpoint?: string;
}

export interface LiveRun {
  id: number;
  reasons: readonly string[];
  startedAt: string;
  changes?: RunChangeView[];
}

export class UiState {
  header: HeaderFacts | undefined;
  objects: ObjectView[] = [];
  /** The run whose plan the objects come from. */
  objectsRun: number | undefined;
  live: LiveRun | undefined;
  readonly history = new RunHistory();
  /** Goes up with every change to what the page shows, so a page rendered at one version can be reused. */
  version = 0;

  constructor(
    private readonly repo: string,
    private readonly events: EventStream,
    private readonly redact: (text: string) => string,
  ) {}

  runStarted(start: RunStart): void {
    this.version += 1;
    this.live = { id: start.id, reasons: start.reasons, startedAt: start.startedAt.toISOString() };
    this.events.publish({ type: "run.started", data: { ...this.live } });
  }

  planned(id: number, plan: PlannedRun): void {
    this.version += 1;
    const { changeSet, desired } = plan;
    const endpoint = (desired.target as { endpoint?: unknown }).endpoint;
    const known = this.header?.revision.revision === changeSet.revision ? this.header.revision : undefined;
    this.header = {
      system: changeSet.system,
      environment: changeSet.environment,
      revision: known ?? { revision: changeSet.revision },
      targetKind: changeSet.targetKind,
      ...(typeof endpoint === "string" ? { endpoint: this.redact(maskUrlUserinfo(endpoint)) } : {}),
    };
    if (known === undefined) {
      void revisionInfo(this.repo, changeSet.revision).then((info) => {
        if (this.header?.revision.revision === info.revision) {
          this.header.revision = info;
          this.version += 1;
        }
      });
    }
    this.objects = objectViews(changeSet.changes);
    this.objectsRun = id;
    const changes = listedChanges(changeSet.changes)
      .slice(0, CHANGES_PER_RUN)
      .map((c) => ({
        action: c.action,
        subject: c.subject,
        service: c.desired?.service ?? c.actual?.service ?? "",
        notes: c.notes.map(maskSecrets),
      }));
    if (this.live?.id === id) this.live.changes = changes;
    this.events.publish({
      type: "run.planned",
      data: { id, changes: changes.map(({ action, subject, service }) => ({ action, subject, service })) },
    });
  }

  changeResult(id: number, result: ChangeResult): void {
    this.version += 1;
    const reason = result.reason === undefined ? undefined : this.redact(maskSecrets(result.reason));
    const change =
      this.live?.id === id ? this.live.changes?.find((c) => c.subject === result.subject) : undefined;
    if (change) change.result = { status: result.status, ...(reason ? { reason } : {}) };
    this.events.publish({
      type: "change.result",
      data: {
        id,
        subject: result.subject,
        action: result.action,
        status: result.status,
        ...(reason ? { reason } : {}),
      },
    });
  }

  runFinished(record: RunRecord, source: PlannedRun | ReconcileOutcome | undefined): void {
    this.version += 1;
    const view: RunView = runView(record, source?.changeSet.changes);
    this.history.add(view);
    if (source !== undefined && this.objectsRun === record.id) {
      this.objects = objectViews(source.changeSet.changes, "results" in source ? (source.results ?? []) : []);
    }
    this.live = undefined;
    this.events.publish({
      type: "run.finished",
      data: {
        id: record.id,
        result: record.result,
        durationSeconds: record.durationSeconds,
        ...(record.error !== undefined ? { error: record.error } : {}),
      },
    });
  }
}
