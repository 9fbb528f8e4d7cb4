// The flags reconcile and serve share, and the part of the pipeline's request they make: one mapping,
// so a flag added to both cannot reach one command and be dropped by the other.
import type { TargetKind } from "../../reconciler/config/schema.js";
import type { ReconcileRequest } from "../../reconciler/pipeline/reconcile.js";

export interface ApplyFlags {
  repo: string;
  environment?: string;
  target?: TargetKind;
  endpoint?: string;
  maxDelete?: number;
  allowMassDelete?: boolean;
  timeout: number;
  wait: boolean;
  waitLock?: boolean;
  /** With waitLock: seconds to wait for another reconciler's lock (default 600). */
  lockTimeout?: number;
  /** Most changes applied at once within a dependency level (default 8). */
  parallelism?: number;
  /** Seconds one request to the target (or one SSH hop's handshake) may take (default 30). */
  requestTimeout?: number;
  /** Where --target and --endpoint came from: the flag, or its SYSCONFIG_* variable (named in errors). */
  targetSource?: string;
  endpointSource?: string;
}

export function applyRequest(flags: ApplyFlags): Omit<ReconcileRequest, "planOnly" | "lockOwner"> {
  return {
    repo: flags.repo,
    environment: flags.environment,
    targetKind: flags.target,
    endpoint: flags.endpoint,
    guard: { maxDelete: flags.maxDelete, allowMassDelete: flags.allowMassDelete === true },
    wait: flags.wait,
    timeoutSeconds: flags.timeout,
    waitLock: flags.waitLock === true,
    lockTimeoutSeconds: flags.lockTimeout,
    parallelism: flags.parallelism,
    ...(flags.requestTimeout !== undefined ? { requestTimeoutMs: flags.requestTimeout * 1000 } : {}),
    ...(flags.targetSource !== undefined ? { targetSource: flags.targetSource } : {}),
    ...(flags.endpointSource !== undefined ? { endpointSource: flags.endpointSource } : {}),
  };
}
