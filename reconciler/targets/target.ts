// What every target (fleet, docker, kubernetes) implements: one file per target, no base classes.
import type { TargetKind } from "../config/schema.js";
import type { ActualObject, Change, DesiredObject, DesiredState } from "../model.js";
import type { Reporter } from "../report/reporter.js";
import type { SecretValues } from "../secrets/open.js";
import type { LockWait } from "./lock-wait.js";

export type { LockWait } from "./lock-wait.js";

/** A held reconcile lock; release() is idempotent. */
export interface TargetLock {
  release(): Promise<void>;
}

/** The state of one applied change as seen by one poll of the target. */
export type HealthCheck =
  | { state: "healthy" }
  /** Will not converge without a new change (crash loop, failed rollout). */
  | { state: "failed"; reason: string }
  /** Not yet; the reason is shown to the operator while waiting and in a timeout's message. */
  | { state: "pending"; reason?: string };

/** How often the engine's shared watcher polls checkHealth: from initialMs, backing off to maxMs. */
export interface HealthPolling {
  initialMs: number;
  maxMs: number;
}

export interface ApplyContext {
  system: string;
  revision: string;
  reporter: Reporter;
  /** Milliseconds since epoch after which waits give up. */
  deadline: number;
  /** Aborted on SIGINT/SIGTERM: long waits should return early (the next run converges). */
  signal?: AbortSignal;
  /**
   * Runs a wait inside apply (a start-first update waiting for its new container) outside the apply
   * limit: the slot sends another change meanwhile. Only for waits that read the target's shared poll
   * (and at most an occasional single request). Absent outside the engine (then the wait just runs).
   */
  outsideLimit?<R>(wait: () => Promise<R>): Promise<R>;
  /** This run's decrypted secrets: apply resolves `<secret age:…>` references with them (and only apply). */
  secrets?: SecretValues;
}

/** Why the actual state is read: to show a plan only, or to apply what differs. */
export type ReadPurpose = "plan" | "apply";

export interface Target {
  readonly kind: TargetKind;
  /**
   * Reads what desiredObjects() needs to know about the target, once, before it (kubernetes: API
   * discovery of the versions the manifests use). Throws InvalidInputError for what the target cannot take.
   */
  prepare?(state: DesiredState): Promise<void>;
  /** Turns the desired state into the objects this target manages. No I/O (prepare() did it). */
  desiredObjects(state: DesiredState): DesiredObject[];
  /**
   * Everything on the target that sysconfig manages or might collide with, owned or not. `purpose`
   * "apply" (a reconcile) lets a target skip work whose only use is a preview (kubernetes: the
   * server-side dry-run of an object whose manifest changed; the apply itself is the server's answer).
   */
  readActual(system: string, purpose?: ReadPurpose): Promise<ActualObject[]>;
  /**
   * Starts the reads of actual state that need only the target's config (fleet: every page of /units
   * and /state), so they run while the desired state is rendered; the next readActual(system) uses them.
   * A failure surfaces there; close() abandons them.
   */
  prefetchActual?(system: string): void;
  /** Applies one create, update or delete; throws a RuntimeFailureError naming the subject. */
  apply(change: Change, context: ApplyContext): Promise<void>;
  /**
   * One poll: reads the target's state ONCE (fleet: every page of /state; docker: one container list;
   * kubernetes: one list per kind and namespace among the changes) and classifies every created or
   * updated change, keyed by subject. Never one request per object per poll; never waits.
   */
  checkHealth(changes: readonly Change[], context: ApplyContext): Promise<Map<string, HealthCheck>>;
  /** The target's own poll timing for checkHealth (tests shorten it); the engine's default otherwise. */
  readonly healthPolling?: HealthPolling;
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
  /** Where `endpoint` came from, for messages: "--endpoint" (default) or "SYSCONFIG_ENDPOINT". */
  endpointSource?: string;
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
