// The resolved spec of one container (one service instance), its hash and its readable text.
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { InvalidInputError } from "../../errors.js";
import { containerName } from "./marker.js";
import { isSecretName, maskValue } from "../../text/mask.js";
import { maskUrlUserinfo } from "../../text/url-userinfo.js";
import type { RenderedSpec } from "./spec.js";

export interface ContainerSpec {
  /** Canonical container name, `<system>-<service>[-<i>]`. */
  name: string;
  service: string;
  instance?: number;
  image: string;
  command?: string[];
  env: Record<string, string>;
  ports: RenderedSpec["ports"];
  volumes: RenderedSpec["volumes"];
  restart: RenderedSpec["restart"];
  network: RenderedSpec["network"];
  health?: RenderedSpec["health"];
}

/** One spec per instance; instances get INSTANCE=<i>, as on fleet (`web@<i>`). */
export function containerSpecsOf(system: string, rendered: RenderedSpec, file: string): ContainerSpec[] {
  const published = rendered.network !== "none" && rendered.ports.length > 0;
  if (rendered.instances > 1 && published) {
    throw new InvalidInputError(
      `${file}: service '${rendered.service}' runs ${rendered.instances} instances that all publish host port(s) ` +
        `${rendered.ports.map((p) => p.host ?? p.container).join(", ")} on one Docker host: they would collide. ` +
        `Use instances: 1, or drop the ports.`,
    );
  }
  const instances =
    rendered.instances > 1 ? Array.from({ length: rendered.instances }, (_, i) => i + 1) : [undefined];
  return instances.map((instance) => {
    const env = sortedRecord(
      instance === undefined ? rendered.env : { INSTANCE: String(instance), ...rendered.env },
    );
    const spec: ContainerSpec = {
      name: containerName(system, rendered.service, instance),
      service: rendered.service,
      image: rendered.image,
      env,
      ports: rendered.ports,
      volumes: rendered.volumes,
      restart: rendered.restart,
      network: rendered.network,
    };
    if (instance !== undefined) spec.instance = instance;
    if (rendered.command !== undefined && rendered.command.length > 0) spec.command = rendered.command;
    if (rendered.health !== undefined) spec.health = rendered.health;
    return spec;
  });
}

/** Hash of everything that defines the container, in a key order that never depends on input order. */
export function specHash(spec: ContainerSpec): string {
  return createHash("sha256").update(stableJson(spec)).digest("hex");
}

/**
 * The spec as YAML, secrets masked: with this run's fingerprints for the desired side of a plan diff,
 * with a bare placeholder for the spec label (the live side, see secret-fingerprints.ts). A password
 * inside a URL (any value, command word or health command) is masked as `***` on both sides.
 */
export function specText(spec: ContainerSpec, mask: (value: string) => string = maskValue): string {
  const shown = {
    name: spec.name,
    image: spec.image,
    ...(spec.command ? { command: spec.command } : {}),
    env: Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, isSecretName(k) ? mask(v) : v])),
    ports: spec.ports.map((p) => `${p.host ?? p.container}:${p.container}/${p.protocol}`),
    volumes: spec.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ":ro" : ""}`),
    restart: spec.restart,
    network: spec.network,
    ...(spec.health ? { health: spec.health } : {}),
  };
  return maskUrlUserinfo(stringify(shown, { lineWidth: 0 }));
}

/** Why an update must stop the old container before starting the new one, if it must. */
export function stopFirstReason(spec: ContainerSpec): string | undefined {
  if (spec.network === "none" || spec.ports.length === 0) return undefined;
  const ports = spec.ports.map((p) => `${p.host ?? p.container}/${p.protocol}`).join(", ");
  return `stop-first: host port ${ports} is held by the old container, so it stops before the new one starts (brief downtime; restarted if the new one fails)`;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] ?? "";
  return out;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
