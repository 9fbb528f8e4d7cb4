// Builds the target for an environment's target config (the one place targets are constructed).
import type { TargetConfig } from "../config/schema.js";
import type { Target, TargetOptions } from "./target.js";

export async function createTarget(config: TargetConfig, options: TargetOptions): Promise<Target> {
  switch (config.kind) {
    case "fleet": {
      const { createFleetTarget } = await import("./fleet/target.js");
      return createFleetTarget(config, options);
    }
    case "docker": {
      const { createDockerTarget } = await import("./docker/target.js");
      return createDockerTarget(config, options);
    }
    case "kubernetes": {
      const { createKubernetesTarget } = await import("./kubernetes/target.js");
      return createKubernetesTarget(config, options);
    }
  }
}
