// PLACEHOLDER — replaced by the bump implementation (issue 2).
import { InternalError } from "../../reconciler/errors.js";
import type { CliIo } from "../io.js";

export interface BumpOptions {
  repo: string;
  service: string;
  tag: string;
  branch?: string;
  template?: string;
  force?: boolean;
  dryRun?: boolean;
  output: "text" | "json";
  maxAttempts: number;
}

export function runBump(_options: BumpOptions, _io: CliIo): Promise<void> {
  return Promise.reject(new InternalError("bump not implemented yet"));
}
