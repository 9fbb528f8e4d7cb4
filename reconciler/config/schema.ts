// The sysconfig.yaml contract (DESIGN §2) as a zod schema. Strings that end up inside unit files,
// manifests or container specs may not carry control characters: that is what stops a value from
// injecting a line into a unit.
import { z } from "zod";
import { isRecipient, RECIPIENT_RULE } from "../secrets/recipients.js";
import { repositoryProblem } from "../registry/image-reference.js";

const NO_CONTROL = /^[^\p{Cc}]*$/u;
export const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const TAG = /^[0-9]+-[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const MAX_TAG_LENGTH = 128;
const BRANCH = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const safeString = z.string().regex(NO_CONTROL, "a string without control characters (newline, tab, …)");
const port = z.number().int().min(1).max(65535);

/** An image repository by Docker's grammar (registry/image-reference.ts), the reason said when it is not. */
const imageRepository = (example: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = repositoryProblem(value);
    if (problem !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `an image repository without tag, e.g. ${example} (${problem})`,
      });
    }
  });

export const tagSchema = z
  .string()
  .max(MAX_TAG_LENGTH, `at most ${MAX_TAG_LENGTH} characters`)
  .regex(TAG, "a tag <build_num>-<branch>, e.g. 58-develop");

const sshHopSchema = z.strictObject({
  host: safeString.min(1),
  port: port.default(22),
  user: safeString.min(1),
  /** Private key file; without it the ssh-agent at SSH_AUTH_SOCK is used. */
  identityFile: safeString.optional(),
});

export const tunnelSchema = z.strictObject({
  /** Jump hosts, in order, each with its own user and key. */
  jump: z.array(sshHopSchema).default([]),
  /** The host that runs fleetd. */
  host: sshHopSchema,
  /** known_hosts file every hop's host key is checked against. */
  knownHosts: safeString.min(1),
});

const fleetTargetSchema = z.strictObject({
  kind: z.literal("fleet"),
  endpoint: safeString.default("unix:///var/run/fleet.sock"),
  tunnel: tunnelSchema.optional(),
});

const dockerTargetSchema = z.strictObject({
  kind: z.literal("docker"),
  /** A Docker host address (unix:// or tcp://); default DOCKER_HOST or the local socket. */
  endpoint: safeString.optional(),
});

const kubernetesTargetSchema = z.strictObject({
  kind: z.literal("kubernetes"),
  /** API server URL; default in-cluster service account, else the kubeconfig's current context. */
  endpoint: safeString.optional(),
  namespace: z.string().regex(SERVICE_NAME, "a Kubernetes namespace name").default("default"),
  /** kubeconfig context; default the file's current-context (--context overrides). */
  context: safeString.optional(),
  /** kubeconfig file; default KUBECONFIG, then ~/.kube/config. Unused in a pod (service account). */
  kubeconfig: safeString.optional(),
});

export const targetSchema = z.discriminatedUnion("kind", [
  fleetTargetSchema,
  dockerTargetSchema,
  kubernetesTargetSchema,
]);
export type TargetConfig = z.infer<typeof targetSchema>;
export type TargetKind = TargetConfig["kind"];
export const TARGET_KINDS: readonly TargetKind[] = ["fleet", "docker", "kubernetes"];

/** An age recipient; the error names the bad one (the issue's "got"). */
const recipientSchema = z.string().refine(isRecipient, RECIPIENT_RULE);
const ARMORED_AGE =
  /^-----BEGIN AGE ENCRYPTED FILE-----\r?\n[A-Za-z0-9+/=\r\n]*-----END AGE ENCRYPTED FILE-----\s*$/;

const environmentSchema = z.strictObject({
  target: targetSchema.default({ kind: "docker" }),
  /** Who can decrypt this environment's secrets (docs/secrets.md). */
  secrets: z
    .strictObject({ recipients: z.array(recipientSchema).min(1, "at least one recipient") })
    .optional(),
});

/** One encrypted value for one environment, as `sysconfig secret set` writes it. */
export const sealedValueSchema = z.strictObject({
  /** The recipients it was encrypted to (the environment's list at the time). */
  recipients: z.array(recipientSchema).min(1, "at least one recipient"),
  ciphertext: z
    .string()
    .regex(
      ARMORED_AGE,
      "an ASCII-armored age file (-----BEGIN AGE ENCRYPTED FILE----- …), as sysconfig secret set writes it",
    ),
});
export type SealedValue = z.infer<typeof sealedValueSchema>;

const portSchema = z.strictObject({
  container: port,
  host: port.optional(),
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
});

const volumeSchema = z.strictObject({
  source: safeString.min(1),
  target: safeString.regex(/^\//, "an absolute path"),
  readOnly: z.boolean().default(false),
});

const DAY_SECONDS = 86_400;
const MAX_DAY = "at most 86400 (a day)";

const healthSchema = z
  .strictObject({
    http: z.strictObject({ path: safeString.regex(/^\//, "a path starting with /"), port }).optional(),
    command: z.array(safeString).min(1).optional(),
    // Bounded to what every target takes: Docker counts in int64 nanoseconds, Kubernetes probes in
    // int32 seconds, systemd in microseconds; a day is more than any health check needs.
    intervalSeconds: z.number().int().min(1).max(DAY_SECONDS, MAX_DAY).default(10),
    timeoutSeconds: z.number().int().min(1).max(DAY_SECONDS, MAX_DAY).default(5),
    retries: z.number().int().min(1).max(100, "at most 100").default(3),
    startPeriodSeconds: z.number().int().min(0).max(DAY_SECONDS, MAX_DAY).default(0),
  })
  .refine((h) => (h.http === undefined) !== (h.command === undefined), {
    message: "exactly one of http or command",
  });

export const serviceSchema = z.strictObject({
  image: imageRepository("registry:5000/acme/web"),
  tag: tagSchema,
  command: z.array(safeString).optional(),
  ports: z.array(portSchema).default([]),
  env: z
    .record(
      z
        .string()
        .regex(ENV_NAME, "an environment variable name (letters, digits and '_', not starting with a digit)"),
      safeString,
    )
    .default({}),
  volumes: z.array(volumeSchema).default([]),
  /** Encrypted env values: NAME → environment (branch) → value encrypted to that environment's recipients. */
  secrets: z
    .record(
      z
        .string()
        .regex(ENV_NAME, "an environment variable name (letters, digits and '_', not starting with a digit)"),
      z.record(z.string().regex(BRANCH, "an environment (branch) name"), sealedValueSchema),
    )
    .default({}),
  health: healthSchema.optional(),
  instances: z.number().int().min(1).max(100).default(1),
  restart: z.enum(["no", "always", "on-failure", "unless-stopped"]).default("always"),
  network: z.enum(["host", "none", "bridge"]).default("host"),
  /** Services this one starts after (create/update order; deletes run in reverse). */
  dependsOn: z.array(z.string().regex(SERVICE_NAME, "a service name")).default([]),
  /** The service's own templates, per target kind, relative to the config repo. */
  templates: z.partialRecord(z.enum(["fleet", "docker", "kubernetes"]), safeString).default({}),
});
export type ServiceConfig = z.infer<typeof serviceSchema>;

export const configSchema = z
  .strictObject({
    name: z.string().regex(SERVICE_NAME, "a system name: lowercase letters, digits and '-'"),
    image: imageRepository("registry:5000/acme/sysconfig"),
    environments: z.record(
      z
        .string()
        .regex(
          BRANCH,
          "a git branch name (letters, digits, '_', '.', '-' and '/', starting with a letter, digit or '_', at most 128 characters)",
        ),
      environmentSchema,
    ),
    services: z.record(
      z
        .string()
        .regex(
          SERVICE_NAME,
          "a service name (lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters)",
        ),
      serviceSchema,
    ),
  })
  .superRefine((config, ctx) => {
    if (Object.keys(config.environments).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["environments"],
        message: "at least one environment (a branch)",
      });
    }
    const known = Object.keys(config.services).sort();
    for (const [name, service] of Object.entries(config.services)) {
      for (const [secret, values] of Object.entries(service.secrets)) {
        if (secret in service.env) {
          ctx.addIssue({
            code: "custom",
            path: ["services", name, "secrets", secret],
            message: `a name not also in env (${secret} is both a plain and a secret value; remove one)`,
          });
        }
        for (const environment of Object.keys(values)) {
          if (!(environment in config.environments)) {
            ctx.addIssue({
              code: "custom",
              path: ["services", name, "secrets", secret, environment],
              message: `a known environment (${Object.keys(config.environments).join(", ")}), got '${environment}'`,
            });
          }
        }
      }
      service.dependsOn.forEach((dep, index) => {
        // Own keys only: `constructor` is no service.
        if (!Object.hasOwn(config.services, dep)) {
          const some =
            known.slice(0, 10).join(", ") + (known.length > 10 ? `, … (${known.length} in all)` : "");
          ctx.addIssue({
            code: "custom",
            path: ["services", name, "dependsOn", index],
            message: `the name of a service in this file (${some})`,
          });
        }
      });
    }
  });
export type SysconfigConfig = z.infer<typeof configSchema>;
