// What every target (fleet, docker, kubernetes) implements: one file per target, no base classes.
import type { TargetKind } from "../config/schema.js";
import type { ActualObject, Change, DesiredObject, DesiredState, HealthReport } from "../model.js";
import type { Reporter } from "../report/reporter.js";
import type { LockWait } from "./lock-wait.js";

export type { LockWait } from "./lock-wait.js";

/** A held reconcile lock; release() is idempotent. */
export interface TargetLock {
  release(): Promise<void>;
}

export interface ApplyContext {
  system: string;
  revision: string;
  reporter: Reporter;
  /** Milliseconds since epoch after which waits give up. */
  deadline: number;
  /** Aborted on SIGINT/SIGTERM: long waits should return early (the next run converges). */
  signal?: AbortSignal;
}

export interface Target {
  readonly kind: TargetKind;
  /** Turns the desired state into the objects this target manages. Pure: no I/O. */
  desiredObjects(state: DesiredState): DesiredObject[];
  /** Everything on the target that sysconfig manages or might collide with, owned or not. */
  readActual(system: string): Promise<ActualObject[]>;
  /** Applies one create, update or delete; throws a RuntimeFailureError naming the subject. */
  apply(change: Change, context: ApplyContext): Promise<void>;
  /** Waits until a created or updated object is healthy, or the deadline passes. */
  waitHealthy(change: Change, context: ApplyContext): Promise<HealthReport>;
  /**
   * Takes the per-system lock. Throws SafetyRefusalError when another reconciler holds it and `wait` is
   * false or its deadline passes, leaving no lock of ours behind; RuntimeFailureError when its signal aborts.
   */
  acquireLock(system: string, owner: string, wait: LockWait): Promise<TargetLock>;
  /** Closes connections and tunnels. */
  close(): Promise<void>;
}

export interface TargetOptions {
  /** --endpoint: overrides the environment's configured endpoint. */
  endpoint?: string;
  /** The environment (config branch) this run reconciles: fleet records it in its ownership marker. */
  environment?: string;
  reporter: Reporter;
  env: NodeJS.ProcessEnv;
  /**
   * Bound on one request (connect and answer) and on each SSH hop's handshake, in ms: a server that accepts
   * and never answers fails after this long. Timed-out requests are not retried.
   */
  requestTimeoutMs?: number;
}

/** What a target uses when TargetOptions.requestTimeoutMs is not given. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
