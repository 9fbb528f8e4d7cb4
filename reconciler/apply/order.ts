// Dependency order of services (dependsOn): level 0 depends on nothing, level n on levels < n.
import { InvalidInputError } from "../errors.js";

/** Each service's level; a cycle is invalid config (exit 3), named in the error. */
export function dependencyLevels(
  services: Record<string, { dependsOn: readonly string[] }>,
): Map<string, number> {
  const levels = new Map<string, number>();
  const visiting: string[] = [];
  const visit = (name: string): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    const at = visiting.indexOf(name);
    if (at >= 0) {
      const cycle = [...visiting.slice(at), name].join(" → ");
      throw new InvalidInputError(
        `services dependsOn has a cycle: ${cycle}. Remove one of these dependsOn entries in sysconfig.yaml.`,
      );
    }
    visiting.push(name);
    let level = 0;
    for (const dep of services[name]?.dependsOn ?? []) {
      if (dep in services) level = Math.max(level, visit(dep) + 1);
    }
    visiting.pop();
    levels.set(name, level);
    return level;
  };
  for (const name of Object.keys(services).sort()) visit(name);
  return levels;
}
