// Small config repos on disk for reconcile tests: sysconfig.yaml plus a current rendered/.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../../reconciler/config/load.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { writeRendered } from "../../reconciler/render/write.js";

export interface TestService {
  tag?: string;
  instances?: number;
  dependsOn?: string[];
  env?: Record<string, string>;
}

/** sysconfig.yaml text for system `name` with environments develop (docker) and staging (fleet). */
export function configYaml(name: string, services: Record<string, TestService>): string {
  const lines = [
    `name: ${name}`,
    "image: 127.0.0.1:5000/acme/sysconfig",
    "environments:",
    "  develop: { target: { kind: docker } }",
    "  staging: { target: { kind: fleet, endpoint: 'http://127.0.0.1:1' } }",
    Object.keys(services).length === 0 ? "services: {}" : "services:",
  ];
  for (const [svc, spec] of Object.entries(services)) {
    lines.push(
      `  ${svc}:`,
      `    image: 127.0.0.1:5000/acme/${svc}`,
      `    tag: ${spec.tag ?? "1-develop"}`,
      `    instances: ${spec.instances ?? 1}`,
      `    dependsOn: ${JSON.stringify(spec.dependsOn ?? [])}`,
      `    env: ${JSON.stringify(spec.env ?? {})}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Writes the config and renders `environment` into rendered/, as `sysconfig render` would. */
export async function writeConfigRepo(
  dir: string,
  name: string,
  services: Record<string, TestService>,
  environment = "develop",
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "sysconfig.yaml"), configYaml(name, services));
  const config = await loadConfig(dir);
  await writeRendered(dir, await findStale(dir, await renderAll(dir, config, environment)));
}
