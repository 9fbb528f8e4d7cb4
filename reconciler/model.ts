// The plain data that flows between the reconcile stages (DESIGN §6, STYLE rules 1–3).
import type { ServiceConfig, TargetConfig, TargetKind } from "./config/schema.js";
import type { RenderedFile } from "./render/render.js";

/**
 * The closed vocabulary of what reconcile does to one object. `unhealthy`: an owned object with the
 * desired spec that is not healthy (crash-looping, failing its check, failed unit, rollout stuck). It is
 * not converged: nothing is sent, reconcile waits for it like a changed object, and no delete runs while
 * it stays so ("Converged means healthy", docs/reconcile.md).
 */
export type Action = "create" | "update" | "delete" | "unchanged" | "unhealthy" | "unmanaged";

/** The sign an action is shown with, in the apply log and on serve's page. */
export const ACTION_SIGN = {
  create: "+",
  update: "~",
  delete: "-",
  unchanged: " ",
  unhealthy: "!",
  unmanaged: "!",
} as const satisfies Record<Action, string>;

/** Health of an object as the target reads it with the actual state. */
export type ObjectHealth =
  { state: "healthy" } | { state: "progressing"; reason: string } | { state: "unhealthy"; reason: string };

/** The baked (or checked-out) desired state: config plus the reviewed rendered files. */
export interface DesiredState {
  system: string;
  environment: string;
  /** Config-repo commit this state comes from ("unknown" for an uncommitted checkout). */
  revision: string;
  target: TargetConfig;
  services: Record<string, ServiceConfig>;
  files: RenderedFile[];
  /** Files under rendered/ whose checkout differs from the commit (a plan in a working checkout applies them). */
  uncommitted?: string[];
}

/** One object sysconfig wants on the target. */
export interface DesiredObject {
  /** Stable identity, e.g. `fleet:web@1.service`, `docker:container/acme-hello`. */
  subject: string;
  /** Target-specific name of the object (unit name, container name, …). */
  name: string;
  service: string;
  /** What is shown in plan diffs (unit file, spec YAML); secrets already masked by the target. */
  text: string;
  /** Hash of the desired content; compared with the hash recorded in the live object's marker. */
  hash: string;
  /** Objects sharing a roll group are updated one at a time, each confirmed healthy before the next. */
  rollGroup?: string;
  /** Position within the roll group (instance number). */
  rollIndex?: number;
  /** Services this object's service depends on: creates/updates after them, deletes before them. */
  dependsOn: string[];
  /** Target-specific payload the target's apply() uses (unit options, container create body, …). */
  spec: unknown;
  /** Remarks the plan shows when this object is updated, e.g. "stop-first: host port 8080/tcp …". */
  updateNotes?: string[];
}

/** One object found on the target. */
export interface ActualObject {
  subject: string;
  name: string;
  /** True when it carries sysconfig's ownership marker for this system. */
  owned: boolean;
  /** The service named in the marker (owned objects only). */
  service?: string;
  /** Hash recorded in the marker (owned objects only). */
  hash?: string;
  /** Live text for plan diffs, secrets masked, marker stripped. */
  text: string;
  /** Target-specific live data apply() may need (container id, unit state, …). */
  spec: unknown;
  /**
   * Owned objects only: why the live object no longer matches its marker although the hash does
   * (container stopped, unit not launched, …). The diff turns a non-empty list into an update with
   * these as notes, so drift is corrected like any other change.
   */
  drift?: string[];
  /** Health of an owned object as read with the actual state; absent = healthy or not knowable. */
  health?: ObjectHealth;
  /**
   * Owned objects only: why an update cannot run without touching an object sysconfig did not create
   * (a container made by hand under the temporary name a Docker update uses). An update of such an
   * object is a conflict, refused before anything is stopped.
   */
  blockedBy?: string[];
}

export interface Change {
  action: Action;
  subject: string;
  desired?: DesiredObject;
  actual?: ActualObject;
  /** Plain-language remarks shown with the change, e.g. "stop-first: host port 8080 is taken". */
  notes: string[];
  /**
   * Set on an `unmanaged` change whose subject is also desired (an object sysconfig did not create
   * holds the name), or on an `update` that needs a name such an object holds (ActualObject.blockedBy).
   * It is never applied; reconcile applies the rest, deletes nothing, and exits 1 naming it.
   */
  conflict?: boolean;
}

export interface ChangeSet {
  system: string;
  environment: string;
  revision: string;
  targetKind: TargetKind;
  changes: Change[];
  /** Uncommitted files under rendered/ that this plan includes (see DesiredState.uncommitted). */
  uncommitted?: string[];
}
