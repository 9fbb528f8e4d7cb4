// The Docker Engine API body that creates a container from a ContainerSpec, marker labels included.
import type Dockerode from "dockerode";
import type { ContainerSpec } from "./container-spec.js";
import { LABEL, ROLE_SERVICE } from "./marker.js";

const NANOS_PER_SECOND = 1_000_000_000;

export interface Marker {
  system: string;
  environment: string;
  revision: string;
  hash: string;
  /** Masked spec text, so plans read the live side from the container list alone. */
  text: string;
  /** Salted digests of the secret env values (secret-fingerprints.ts), if there are any. */
  secrets?: string;
}

export function markerLabels(spec: ContainerSpec, marker: Marker): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.system]: marker.system,
    [LABEL.environment]: marker.environment,
    [LABEL.service]: spec.service,
    [LABEL.hash]: marker.hash,
    [LABEL.revision]: marker.revision,
    [LABEL.name]: spec.name,
    [LABEL.role]: ROLE_SERVICE,
    [LABEL.spec]: marker.text,
  };
  if (spec.instance !== undefined) labels[LABEL.instance] = String(spec.instance);
  if (marker.secrets !== undefined) labels[LABEL.secrets] = marker.secrets;
  return labels;
}

/** `liveName` is the canonical name, or the temporary one while an update is in flight. */
export function createBody(
  spec: ContainerSpec,
  liveName: string,
  marker: Marker,
): Dockerode.ContainerCreateOptions {
  const body: Dockerode.ContainerCreateOptions = {
    name: liveName,
    Image: spec.image,
    Env: Object.entries(spec.env).map(([name, value]) => `${name}=${value}`),
    Labels: markerLabels(spec, marker),
    HostConfig: {
      // docker-init as PID 1 forwards SIGTERM, so `docker stop` is graceful rather than a 10 s kill.
      Init: true,
      NetworkMode: spec.network,
      RestartPolicy: { Name: spec.restart },
      Binds: spec.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ":ro" : ""}`),
    },
  };
  if (spec.command) body.Cmd = spec.command;
  if (spec.health) {
    body.Healthcheck = {
      Test: ["CMD", ...spec.health.test],
      Interval: spec.health.intervalSeconds * NANOS_PER_SECOND,
      Timeout: spec.health.timeoutSeconds * NANOS_PER_SECOND,
      Retries: spec.health.retries,
      StartPeriod: spec.health.startPeriodSeconds * NANOS_PER_SECOND,
    };
  }
  // With host networking a container's ports are the host's already; publishing only applies to bridge.
  if (spec.network === "bridge" && spec.ports.length > 0 && body.HostConfig) {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostPort: string }[]> = {};
    for (const p of spec.ports) {
      const key = `${p.container}/${p.protocol}`;
      exposed[key] = {};
      bindings[key] = [{ HostPort: String(p.host ?? p.container) }];
    }
    body.ExposedPorts = exposed;
    body.HostConfig.PortBindings = bindings;
  }
  return body;
}
