// Deletes in reverse apply order within a service: an object is deleted only after the service's
// objects of a later rank (kinds.ts) that this run deletes too — custom resources before their CRD,
// HPAs and PDBs before the workload, workloads before their ConfigMaps, everything before a Namespace.
// The engine sends a service's deletes together; each waits here, outside the apply limit, for those it
// must follow. A delete that is never sent (interrupted) cannot block: the wait ends at the deadline.
import type { ActualObject } from "../../model.js";
import type { ApplyContext } from "../target.js";
import type { KubernetesActualSpec } from "./actual.js";

export class DeleteOrder {
  /** Per service: the owned objects the last plan would delete, with their rank. */
  private planned = new Map<string, { subject: string; rank: number }[]>();
  private readonly done = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  /** Records what the plan deletes: owned objects that are not desired. */
  plan(actual: readonly ActualObject[], desired: ReadonlySet<string>): void {
    this.planned = new Map();
    for (const a of actual) {
      if (!a.owned || desired.has(a.subject) || a.service === undefined) continue;
      const rank = (a.spec as KubernetesActualSpec).kind.rank;
      this.planned.set(a.service, [...(this.planned.get(a.service) ?? []), { subject: a.subject, rank }]);
    }
  }

  /** Waits until the deletes this one must follow were sent (or the deadline passed). */
  async before(object: ActualObject, context: ApplyContext): Promise<void> {
    const rank = (object.spec as KubernetesActualSpec).kind.rank;
    const later = (this.planned.get(object.service ?? "") ?? []).filter(
      (p) => p.rank > rank && p.subject !== object.subject,
    );
    if (later.length === 0) return;
    const all = Promise.all(later.map((p) => this.entry(p.subject).promise));
    const wait = () =>
      new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          context.signal?.removeEventListener("abort", finish);
          resolve();
        };
        const timer = setTimeout(finish, Math.max(0, context.deadline - Date.now()));
        context.signal?.addEventListener("abort", finish, { once: true });
        void all.then(finish);
      });
    await (context.outsideLimit ? context.outsideLimit(wait) : wait());
  }

  /** Marks a delete as sent (whether it succeeded or not). */
  sent(subject: string): void {
    this.entry(subject).resolve();
  }

  private entry(subject: string): { promise: Promise<void>; resolve: () => void } {
    let e = this.done.get(subject);
    if (!e) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      e = { promise, resolve };
      this.done.set(subject, e);
    }
    return e;
  }
}
