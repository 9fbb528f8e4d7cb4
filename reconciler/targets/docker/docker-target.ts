// PLACEHOLDER — replaced by the docker target implementation (issue 5).
import type { TargetConfig } from "../../config/schema.js";
import { InternalError } from "../../errors.js";
import type { Target, TargetOptions } from "../target.js";

export function createDockerTarget(
  _config: Extract<TargetConfig, { kind: "docker" }>,
  _options: TargetOptions,
): Target {
  throw new InternalError("docker target not implemented yet");
}
