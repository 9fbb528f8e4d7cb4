// PLACEHOLDER — replaced by the reconcile pipeline (issue 4).
import { InternalError } from "../../reconciler/errors.js";
import type { CliIo } from "../io.js";

export interface ReconcileOptions {
  repo: string;
  environment?: string;
  target?: "fleet" | "docker" | "kubernetes";
  endpoint?: string;
  output: "text" | "json";
  /** plan only: nothing is applied. */
  planOnly: boolean;
  dryRun?: boolean;
  exitCode?: boolean;
  maxDelete?: number;
  allowMassDelete?: boolean;
  timeout: number;
  wait: boolean;
  waitLock?: boolean;
}

export function runReconcile(_options: ReconcileOptions, _io: CliIo): Promise<void> {
  return Promise.reject(new InternalError("reconcile not implemented yet"));
}
