// Writes a small config repo (sysconfig.yaml + rendered/) for one fleet environment ("staging" unless
// named), for tests and benchmarks that drive the real reconcile pipeline against the fake fleetd.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { loadConfig } from "../../reconciler/config/load.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { writeRendered } from "../../reconciler/render/write.js";

export interface FleetServiceSpec {
  tag?: string;
  instances?: number;
  env?: Record<string, string>;
  dependsOn?: string[];
}

export interface FleetRepoSpec {
  name: string;
  /** The one environment the repo defines; default "staging". */
  environment?: string;
  endpoint: string;
  tunnel?: Record<string, unknown>;
  services: Record<string, FleetServiceSpec>;
}

export async function writeFleetRepo(dir: string, spec: FleetRepoSpec): Promise<void> {
  await mkdir(dir, { recursive: true });
  const services: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(spec.services)) {
    services[name] = {
      image: `127.0.0.1:5000/${spec.name}/${name}`,
      tag: s.tag ?? "1-staging",
      command: ["sh", "-c", "sleep 3600"],
      ...(s.instances !== undefined ? { instances: s.instances } : {}),
      ...(s.env ? { env: s.env } : {}),
      ...(s.dependsOn ? { dependsOn: s.dependsOn } : {}),
    };
  }
  const environment = spec.environment ?? "staging";
  const config = {
    name: spec.name,
    image: `127.0.0.1:5000/${spec.name}/sysconfig`,
    environments: {
      [environment]: {
        target: { kind: "fleet", endpoint: spec.endpoint, ...(spec.tunnel ? { tunnel: spec.tunnel } : {}) },
      },
    },
    services,
  };
  await writeFile(path.join(dir, "sysconfig.yaml"), stringify(config));
  const loaded = await loadConfig(dir);
  await writeRendered(dir, await findStale(dir, await renderAll(dir, loaded, environment)));
}
