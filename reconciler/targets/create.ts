// Builds the target for an environment's target config (the one place targets are constructed).
import type { TargetConfig } from "../config/schema.js";
import { InvalidInputError } from "../errors.js";
import type { Target, TargetOptions } from "./target.js";

export async function createTarget(config: TargetConfig, options: TargetOptions): Promise<Target> {
  switch (config.kind) {
    case "fleet": {
      const { createFleetTarget } = await import("./fleet/fleet-target.js");
      return createFleetTarget(config, options);
    }
    case "docker": {
      const { createDockerTarget } = await import("./docker/docker-target.js");
      return createDockerTarget(config, options);
    }
    case "kubernetes":
      throw new InvalidInputError(
        "the kubernetes target is not available in this version of sysconfig (it is the next planned target); " +
          "use --target docker or fleet.",
      );
  }
}
