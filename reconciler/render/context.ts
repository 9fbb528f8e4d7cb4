// Builds the plain data a template sees for one service in one environment.
import type { ServiceConfig, SysconfigConfig, TargetKind } from "../config/schema.js";
import { secretsContext, type SecretsContext } from "./secrets-context.js";

export interface RenderContext {
  system: { name: string };
  environment: { name: string; branch: string; namespace: string };
  target: { kind: TargetKind };
  service: {
    name: string;
    image: string;
    tag: string;
    imageRef: string;
    containerName: string;
    command: string[];
    hasCommand: boolean;
    ports: ServiceConfig["ports"];
    /** Plain values, then secrets (`secret: true`, value a `<secret age:…>` reference), by name. */
    env: { name: string; value: string; secret: boolean }[];
    volumes: ServiceConfig["volumes"];
    health: ServiceConfig["health"] | false;
    healthCommand: string[];
    instances: number;
    isTemplate: boolean;
    restart: ServiceConfig["restart"];
    network: ServiceConfig["network"];
    dependsOn: string[];
  } & SecretsContext;
}

/** The command a container runs to check its own health (wget is in busybox and most images). */
export function healthCommandOf(health: ServiceConfig["health"]): string[] {
  if (!health) return [];
  if (health.command) return health.command;
  if (health.http)
    return ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${health.http.port}${health.http.path}`];
  return [];
}

export function buildContext(
  config: SysconfigConfig,
  environment: string,
  serviceName: string,
): RenderContext {
  const service = config.services[serviceName];
  const env = config.environments[environment];
  if (!service || !env) throw new Error(`unknown service ${serviceName} or environment ${environment}`);
  const kind = env.target.kind;
  const secrets = secretsContext(serviceName, service, environment);
  return {
    system: { name: config.name },
    environment: {
      name: environment,
      branch: environment,
      namespace: env.target.kind === "kubernetes" ? env.target.namespace : "default",
    },
    target: { kind },
    service: {
      name: serviceName,
      image: service.image,
      tag: service.tag,
      imageRef: `${service.image}:${service.tag}`,
      containerName: `${config.name}-${serviceName}`,
      command: service.command ?? [],
      hasCommand: (service.command ?? []).length > 0,
      ports: service.ports,
      env: [
        ...Object.keys(service.env)
          .sort()
          .map((name) => ({ name, value: service.env[name] ?? "", secret: false })),
        ...secrets.secrets.map((s) => ({ name: s.name, value: s.ref, secret: true })),
      ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      volumes: service.volumes,
      health: service.health ?? false,
      healthCommand: healthCommandOf(service.health),
      instances: service.instances,
      isTemplate: kind === "fleet" && service.instances > 1,
      restart: service.restart,
      network: service.network,
      dependsOn: service.dependsOn,
      ...secrets,
    },
  };
}
