// The sysconfig.yaml contract (DESIGN §2) as a zod schema. Strings that end up inside unit files,
// manifests or container specs may not carry control characters: that is what stops a value from
// injecting a line into a unit.
import * as z from "zod/mini";
import "./zod-setup.js";
import { isRecipient, RECIPIENT_RULE } from "../secrets/recipients.js";
import { repositoryProblem } from "../registry/image-reference.js";

const NO_CONTROL = /^[^\p{Cc}]*$/u;
export const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const TAG = /^[0-9]+-[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const MAX_TAG_LENGTH = 128;
const BRANCH = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const safeString = z
  .string()
  .check(z.regex(NO_CONTROL, "a string without control characters (newline, tab, …)"));
const nonEmpty = safeString.check(z.minLength(1));
/** A whole number from min (to max, with its own message when given one). */
export const whole = (min: number, max?: number, maxMessage?: string) =>
  z.int().check(...(max === undefined ? [z.gte(min)] : [z.gte(min), z.lte(max, maxMessage)]));
export const port = whole(1, 65535);

/** An image repository by Docker's grammar (registry/image-reference.ts), the reason said when it is not. */
const imageRepository = (example: string) =>
  z.string().check(
    z.superRefine((value, ctx) => {
      const problem = repositoryProblem(value);
      if (problem !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `an image repository without tag, e.g. ${example} (${problem})`,
        });
      }
    }),
  );

export const tagSchema = z
  .string()
  .check(
    z.maxLength(MAX_TAG_LENGTH, `at most ${MAX_TAG_LENGTH} characters`),
    z.regex(TAG, "a tag <build_num>-<branch>, e.g. 58-develop"),
  );

const sshHopSchema = z.strictObject({
  host: nonEmpty,
  port: z._default(port, 22),
  user: nonEmpty,
  /** Private key file; without it the ssh-agent at SSH_AUTH_SOCK is used. */
  identityFile: z.optional(safeString),
});

export const tunnelSchema = z.strictObject({
  /** Jump hosts, in order, each with its own user and key. */
  jump: z._default(z.array(sshHopSchema), []),
  /** The host that runs fleetd. */
  host: sshHopSchema,
  /** known_hosts file every hop's host key is checked against. */
  knownHosts: nonEmpty,
});

const fleetTargetSchema = z.strictObject({
  kind: z.literal("fleet"),
  endpoint: z._default(safeString, "unix:///var/run/fleet.sock"),
  tunnel: z.optional(tunnelSchema),
});

const dockerTargetSchema = z.strictObject({
  kind: z.literal("docker"),
  /** A Docker host address (unix:// or tcp://); default DOCKER_HOST or the local socket. */
  endpoint: z.optional(safeString),
});

const kubernetesTargetSchema = z.strictObject({
  kind: z.literal("kubernetes"),
  /** API server URL; default in-cluster service account, else the kubeconfig's current context. */
  endpoint: z.optional(safeString),
  namespace: z._default(z.string().check(z.regex(SERVICE_NAME, "a Kubernetes namespace name")), "default"),
  /** kubeconfig context; default the file's current-context (--context overrides). */
  context: z.optional(safeString),
  /** kubeconfig file; default KUBECONFIG, then ~/.kube/config. Unused in a pod (service account). */
  kubeconfig: z.optional(safeString),
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
const recipientSchema = z.string().check(z.refine(isRecipient, RECIPIENT_RULE));
const recipientsSchema = z.array(recipientSchema).check(z.minLength(1, "at least one recipient"));
const ARMORED_AGE =
  /^-----BEGIN AGE ENCRYPTED FILE-----\r?\n[A-Za-z0-9+/=\r\n]*-----END AGE ENCRYPTED FILE-----\s*$/;

const environmentSchema = z.strictObject({
  target: z._default(targetSchema, { kind: "docker" }),
  /** Who can decrypt this environment's secrets (docs/secrets.md). */
  secrets: z.optional(z.strictObject({ recipients: recipientsSchema })),
});

/** One encrypted value for one environment, as `sysconfig secret set` writes it. */
export const sealedValueSchema = z.strictObject({
  /** The recipients it was encrypted to (the environment's list at the time). */
  recipients: recipientsSchema,
  ciphertext: z
    .string()
    .check(
      z.regex(
        ARMORED_AGE,
        "an ASCII-armored age file (-----BEGIN AGE ENCRYPTED FILE----- …), as sysconfig secret set writes it",
      ),
    ),
});
export type SealedValue = z.infer<typeof sealedValueSchema>;

const portSchema = z.strictObject({
  container: port,
  host: z.optional(port),
  protocol: z._default(z.enum(["tcp", "udp"]), "tcp"),
});

const volumeSchema = z.strictObject({
  source: nonEmpty,
  target: safeString.check(z.regex(/^\//, "an absolute path")),
  readOnly: z._default(z.boolean(), false),
});

const DAY_SECONDS = 86_400;
const MAX_DAY = "at most 86400 (a day)";

const healthSchema = z
  .strictObject({
    http: z.optional(
      z.strictObject({ path: safeString.check(z.regex(/^\//, "a path starting with /")), port }),
    ),
    command: z.optional(z.array(safeString).check(z.minLength(1))),
    // Bounded to what every target takes: Docker counts in int64 nanoseconds, Kubernetes probes in
    // int32 seconds, systemd in microseconds; a day is more than any health check needs.
    intervalSeconds: z._default(whole(1, DAY_SECONDS, MAX_DAY), 10),
    timeoutSeconds: z._default(whole(1, DAY_SECONDS, MAX_DAY), 5),
    retries: z._default(whole(1, 100, "at most 100"), 3),
    startPeriodSeconds: z._default(whole(0, DAY_SECONDS, MAX_DAY), 0),
  })
  .check(
    z.refine((h) => (h.http === undefined) !== (h.command === undefined), {
      message: "exactly one of http or command",
    }),
  );

const envName = z
  .string()
  .check(
    z.regex(ENV_NAME, "an environment variable name (letters, digits and '_', not starting with a digit)"),
  );

export const serviceSchema = z.strictObject({
  image: imageRepository("registry:5000/acme/web"),
  tag: tagSchema,
  command: z.optional(z.array(safeString)),
  ports: z._default(z.array(portSchema), []),
  env: z._default(z.record(envName, safeString), {}),
  volumes: z._default(z.array(volumeSchema), []),
  /** Encrypted env values: NAME → environment (branch) → value encrypted to that environment's recipients. */
  secrets: z._default(
    z.record(
      envName,
      z.record(z.string().check(z.regex(BRANCH, "an environment (branch) name")), sealedValueSchema),
    ),
    {},
  ),
  health: z.optional(healthSchema),
  instances: z._default(whole(1, 100), 1),
  restart: z._default(z.enum(["no", "always", "on-failure", "unless-stopped"]), "always"),
  network: z._default(z.enum(["host", "none", "bridge"]), "host"),
  /** Services this one starts after (create/update order; deletes run in reverse). */
  dependsOn: z._default(z.array(z.string().check(z.regex(SERVICE_NAME, "a service name"))), []),
  /** The service's own templates, per target kind, relative to the config repo. */
  templates: z._default(z.partialRecord(z.enum(["fleet", "docker", "kubernetes"]), safeString), {}),
});
export type ServiceConfig = z.infer<typeof serviceSchema>;

export const configSchema = z
  .strictObject({
    name: z.string().check(z.regex(SERVICE_NAME, "a system name: lowercase letters, digits and '-'")),
    image: imageRepository("registry:5000/acme/sysconfig"),
    environments: z.record(
      z
        .string()
        .check(
          z.regex(
            BRANCH,
            "a git branch name (letters, digits, '_', '.', '-' and '/', starting with a letter, digit or '_', at most 128 characters)",
          ),
        ),
      environmentSchema,
    ),
    services: z.record(
      z
        .string()
        .check(
          z.regex(
            SERVICE_NAME,
            "a service name (lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters)",
          ),
        ),
      serviceSchema,
    ),
  })
  .check(
    z.superRefine((config, ctx) => {
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
    }),
  );
export type SysconfigConfig = z.infer<typeof configSchema>;
