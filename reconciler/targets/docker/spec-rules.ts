// The Docker engine's own rules for a container spec, checked when the spec is read (validate, render,
// bump, build and plan all read it), so what create would refuse — or what would break at start — is
// refused before anything changes, with the file and the entry named (exit 3).
import { InvalidInputError } from "../../errors.js";
import type { RenderedSpec } from "./spec.js";

/** A named volume: what Docker takes as a bind source that is not an absolute path. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Problems of one rendered spec, each "volumes.1.source: …"; [] when Docker would take it. */
export function specProblems(spec: RenderedSpec): string[] {
  const problems: string[] = [];
  const targets = new Map<string, number>();
  spec.volumes.forEach((volume, i) => {
    const at = `volumes.${i}`;
    if (!volume.source.startsWith("/") && !VOLUME_NAME.test(volume.source)) {
      problems.push(
        `${at}.source: '${volume.source}' is neither an absolute host path nor a volume name: Docker ` +
          `refuses relative paths (a volume name is letters, digits, '_', '.', '-'). Use an absolute path`,
      );
    }
    for (const [field, value] of [
      ["source", volume.source],
      ["target", volume.target],
    ] as const) {
      if (value.includes(":") || value.includes(",")) {
        problems.push(
          `${at}.${field}: '${value}' contains ':' or ',', which Docker's mount syntax splits on`,
        );
      }
    }
    const target = volume.target.replace(/\/+$/, "") || "/";
    if (target === "/") problems.push(`${at}.target: Docker refuses to mount over the container's root '/'`);
    const first = targets.get(target);
    if (first !== undefined) {
      problems.push(
        `${at}.target: '${target}' is already mounted by volumes.${first}: Docker refuses two mounts on one ` +
          `container path (duplicate mount point)`,
      );
    } else {
      targets.set(target, i);
    }
  });
  const hostPorts = new Map<string, number>();
  const containerPorts = new Map<string, number>();
  spec.ports.forEach((port, i) => {
    const host = `${port.host ?? port.container}/${port.protocol}`;
    const inner = `${port.container}/${port.protocol}`;
    const hostFirst = hostPorts.get(host);
    if (hostFirst !== undefined) {
      problems.push(`ports.${i}: host port ${host} is already published by ports.${hostFirst}`);
    } else {
      hostPorts.set(host, i);
    }
    const innerFirst = containerPorts.get(inner);
    if (innerFirst !== undefined) {
      problems.push(
        `ports.${i}: container port ${inner} is already listed by ports.${innerFirst} (Docker keeps one ` +
          `binding per container port)`,
      );
    } else {
      containerPorts.set(inner, i);
    }
  });
  return problems;
}

/** Throws InvalidInputError naming the file and every problem Docker would refuse. */
export function checkSpecRules(spec: RenderedSpec, file: string): void {
  const problems = specProblems(spec);
  if (problems.length === 0) return;
  throw new InvalidInputError(
    `${file} is a container spec the Docker engine would refuse:\n  ${problems.map((p) => `${file}: ${p}`).join("\n  ")}\n` +
      `Fix the service in sysconfig.yaml (or its template) and render again.`,
    { issues: problems.map((p) => `${file}: ${p}`) },
  );
}

/**
 * Throws InvalidInputError when two services of one Docker host publish the same host port: the second
 * to start would fail to bind it (on host networking, the ports a service lists are the host's).
 */
export function checkHostPorts(specs: readonly { file: string; spec: RenderedSpec }[]): void {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const { file, spec } of specs) {
    if (spec.network === "none") continue;
    for (const port of spec.ports) {
      const key = `${port.host ?? port.container}/${port.protocol}`;
      const owner = owners.get(key);
      if (owner !== undefined && owner !== spec.service) {
        problems.push(`host port ${key} is published by both '${owner}' and '${spec.service}' (${file})`);
      } else {
        owners.set(key, spec.service);
      }
    }
  }
  if (problems.length === 0) return;
  throw new InvalidInputError(
    `two services would hold one host port on the Docker host, so one of them could never start: ` +
      `${problems.join("; ")}. Give each service its own host port in sysconfig.yaml.`,
    { issues: problems },
  );
}
