// An in-memory Target for engine and pipeline tests: objects live in a Map, every call is logged,
// and failures, unhealthy objects, delays and a held lock are controlled by the test.
import { createHash } from "node:crypto";
import type { TargetKind } from "../../reconciler/config/schema.js";
import { RuntimeFailureError, SafetyRefusalError } from "../../reconciler/errors.js";
import type {
  ActualObject,
  Change,
  DesiredObject,
  DesiredState,
  ObjectHealth,
} from "../../reconciler/model.js";
import { maskSecrets } from "../../reconciler/text/mask.js";
import { lockWaiter } from "../../reconciler/targets/lock-wait.js";
import type {
  ApplyContext,
  HealthCheck,
  HealthPolling,
  LockWait,
  Target,
  TargetLock,
} from "../../reconciler/targets/target.js";

export interface MemoryObject {
  name: string;
  /** The owning system's marker; undefined for an object sysconfig did not create. */
  system?: string;
  service?: string;
  hash?: string;
  text: string;
  /** False simulates drift (a stopped container, an inactive unit). */
  running: boolean;
}

export interface MemoryTargetOptions {
  kind?: TargetKind;
  /** Milliseconds each apply takes (lets tests observe parallelism). */
  applyDelayMs?: number;
  /** The engine's poll timing for this target (default: every 1 ms, so tests run fast). */
  healthPolling?: HealthPolling;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class MemoryTarget implements Target {
  readonly kind: TargetKind;
  readonly objects = new Map<string, MemoryObject>();
  /**
   * "create x" / "update x" / "delete x" / "lock" / "unlock" / "close", in call order, and "wait x"
   * when a poll first finds x healthy or unhealthy.
   */
  readonly log: string[] = [];
  /** The subjects each checkHealth call was asked about, with the time of the call. */
  readonly polls: { at: number; subjects: string[] }[] = [];
  /** subject → how many more polls report it pending (with `pendingReason`). */
  readonly pendingPolls = new Map<string, number>();
  /** subject → the reason a pending poll gives. */
  readonly pendingReason = new Map<string, string>();
  readonly healthPolling: HealthPolling;
  /** subject → reason: apply() throws a RuntimeFailureError. */
  readonly failApply = new Map<string, string>();
  /** subject → reason: waitHealthy() reports unhealthy. */
  readonly unhealthy = new Map<string, string>();
  /** subject → the health readActual() reports for the owned object (as a target reads it with the state). */
  readonly liveHealth = new Map<string, ObjectHealth>();
  /** Called at the start of every apply (e.g. to abort a run midway). */
  onApply?: (change: Change) => void;
  /** Makes readActual() fail. */
  readFailure?: Error;
  lockHolder?: string;
  inFlight = 0;
  maxInFlight = 0;
  private readonly applyDelayMs: number;

  constructor(options: MemoryTargetOptions = {}) {
    this.kind = options.kind ?? "docker";
    this.applyDelayMs = options.applyDelayMs ?? 0;
    this.healthPolling = options.healthPolling ?? { initialMs: 1, maxMs: 1 };
  }

  subjectOf(name: string): string {
    return `${this.kind}:${name}`;
  }

  /** One object per rendered file; services with instances > 1 become a roll group name@1…name@n. */
  desiredObjects(state: DesiredState): DesiredObject[] {
    return state.files.flatMap((file) => {
      const service = state.services[file.service];
      const instances = service?.instances ?? 1;
      const names =
        instances > 1
          ? Array.from({ length: instances }, (_, i) => ({ name: `${file.service}@${i + 1}`, index: i + 1 }))
          : [{ name: file.service, index: undefined }];
      return names.map(({ name, index }) => {
        const text = index === undefined ? file.content : file.content.replaceAll("%i", String(index));
        return {
          subject: this.subjectOf(name),
          name,
          service: file.service,
          text: maskSecrets(text),
          hash: createHash("sha256").update(text).digest("hex"),
          dependsOn: service?.dependsOn ?? [],
          spec: { text },
          ...(index === undefined ? {} : { rollGroup: file.service, rollIndex: index }),
        };
      });
    });
  }

  readActual(system: string): Promise<ActualObject[]> {
    this.log.push("read");
    if (this.readFailure) return Promise.reject(this.readFailure);
    return Promise.resolve(
      [...this.objects.values()].map((o) => {
        const owned = o.system === system;
        return {
          subject: this.subjectOf(o.name),
          name: o.name,
          owned,
          text: maskSecrets(o.text),
          spec: o,
          ...(owned ? { service: o.service, hash: o.hash } : {}),
          ...(owned && !o.running ? { drift: ["not running"] } : {}),
          ...(owned && this.liveHealth.has(this.subjectOf(o.name))
            ? { health: this.liveHealth.get(this.subjectOf(o.name)) }
            : {}),
        };
      }),
    );
  }

  async apply(change: Change, context: ApplyContext): Promise<void> {
    this.onApply?.(change);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.applyDelayMs > 0) await sleep(this.applyDelayMs);
      this.log.push(`${change.action} ${change.subject}`);
      const reason = this.failApply.get(change.subject);
      if (reason !== undefined)
        throw new RuntimeFailureError(`${change.subject} ${change.action} failed: ${reason}`);
      if (change.action === "delete") {
        if (change.actual) this.objects.delete(change.actual.name);
        return;
      }
      const desired = change.desired;
      if (!desired) throw new Error(`${change.subject}: ${change.action} without a desired object`);
      this.objects.set(desired.name, {
        name: desired.name,
        system: context.system,
        service: desired.service,
        hash: desired.hash,
        text: (desired.spec as { text: string }).text,
        running: true,
      });
    } finally {
      this.inFlight -= 1;
    }
  }

  /** One poll: every change answered from the map at once, like a target's one list request. */
  checkHealth(changes: readonly Change[], _context: ApplyContext): Promise<Map<string, HealthCheck>> {
    this.polls.push({ at: Date.now(), subjects: changes.map((c) => c.subject) });
    const answers = new Map<string, HealthCheck>();
    for (const change of changes) {
      const pending = this.pendingPolls.get(change.subject) ?? 0;
      if (pending > 0) {
        this.pendingPolls.set(change.subject, pending - 1);
        const reason = this.pendingReason.get(change.subject);
        answers.set(change.subject, { state: "pending", ...(reason === undefined ? {} : { reason }) });
        continue;
      }
      this.log.push(`wait ${change.subject}`);
      const reason = this.unhealthy.get(change.subject);
      answers.set(change.subject, reason === undefined ? { state: "healthy" } : { state: "failed", reason });
    }
    return Promise.resolve(answers);
  }

  async acquireLock(system: string, owner: string, wait: LockWait): Promise<TargetLock> {
    const waiter = lockWaiter(wait);
    while (this.lockHolder !== undefined) {
      waiter.assertNotInterrupted(`${system} lock`);
      if (waiter.expired()) {
        throw new SafetyRefusalError(
          "lock-held",
          wait === false
            ? `${system} lock acquire failed: held by ${this.lockHolder}. Wait for it to finish, or pass --wait-lock.`
            : `${system} lock acquire failed: gave up waiting for the lock held by ${this.lockHolder} ${waiter.gaveUpAfter}.`,
        );
      }
      await waiter.pause(5);
    }
    this.lockHolder = owner;
    this.log.push("lock");
    let released = false;
    return {
      release: () => {
        if (!released) {
          released = true;
          this.lockHolder = undefined;
          this.log.push("unlock");
        }
        return Promise.resolve();
      },
    };
  }

  close(): Promise<void> {
    this.log.push("close");
    return Promise.resolve();
  }

  /** Puts an object on the target that sysconfig did not create. */
  addUnmanaged(name: string, text = `${name}, made by hand\n`): void {
    this.objects.set(name, { name, text, running: true });
  }
}
