// PLACEHOLDER — replaced by the build implementation (issue 3).
import { InternalError } from "../../reconciler/errors.js";
import type { CliIo } from "../io.js";

export interface BuildOptions {
  repo: string;
  image?: string;
  base?: string;
  buildNum?: string;
  push?: boolean;
  dryRun?: boolean;
  output: "text" | "json";
}

export function runBuild(_options: BuildOptions, _io: CliIo): Promise<void> {
  return Promise.reject(new InternalError("build not implemented yet"));
}
