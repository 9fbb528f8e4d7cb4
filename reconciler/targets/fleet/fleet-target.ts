// PLACEHOLDER — replaced by the fleet target implementation (issue 4).
import type { TargetConfig } from "../../config/schema.js";
import { InternalError } from "../../errors.js";
import type { Target, TargetOptions } from "../target.js";

export function createFleetTarget(
  _config: Extract<TargetConfig, { kind: "fleet" }>,
  _options: TargetOptions,
): Target {
  throw new InternalError("fleet target not implemented yet");
}
