// Reads a rendered docker container spec (`rendered/<svc>.yaml`, the output of
// templates/docker/container.yaml.hbs or a service's own template) into plain, validated data.
import { z } from "zod";
import { parseYamlText } from "../../config/yaml-text.js";
import { InvalidInputError } from "../../errors.js";
import { escapeControls, shownList } from "../../text/escape.js";

const port = z.number().int().min(1).max(65535);
const text = z.string().regex(/^[^\p{Cc}]*$/u, "a string without control characters");

const renderedSpecSchema = z.strictObject({
  service: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a service name"),
  image: text.min(1),
  instances: z.number().int().min(1).max(100).default(1),
  command: z.array(text).optional(),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name"), text)
    .default({}),
  ports: z
    .array(
      z.strictObject({
        container: port,
        host: port.optional(),
        protocol: z.enum(["tcp", "udp"]).default("tcp"),
      }),
    )
    .default([]),
  volumes: z
    .array(
      z.strictObject({
        source: text.min(1),
        target: text.regex(/^\//),
        readOnly: z.boolean().default(false),
      }),
    )
    .default([]),
  restart: z.enum(["no", "always", "on-failure", "unless-stopped"]).default("always"),
  network: z.enum(["host", "none", "bridge"]).default("host"),
  health: z
    .strictObject({
      test: z.array(text).min(1),
      intervalSeconds: z.number().int().min(1).default(10),
      timeoutSeconds: z.number().int().min(1).default(5),
      retries: z.number().int().min(1).default(3),
      startPeriodSeconds: z.number().int().min(0).default(0),
    })
    .optional(),
  dependsOn: z.array(z.string()).default([]),
});

/** One service's rendered container spec, as the template wrote it. */
export type RenderedSpec = z.infer<typeof renderedSpecSchema>;

/**
 * Specs already parsed in this process, by file and content: plan checks the desired state before it
 * takes the lock (reconciler/desired/check.ts), then the target turns the same files into objects, and
 * YAML parsing is most of the cost of either (15,000 specs: seconds). Callers get their own copy.
 */
const parsedSpecs = new Map<string, RenderedSpec>();
/** Past this many, the cache starts over (a long-running process sees many revisions). */
const MAX_PARSED_SPECS = 50_000;

/** Parses one rendered file; every problem names the file and the dotted path. */
export function parseRenderedSpec(content: string, file: string): RenderedSpec {
  const key = `${file}\0${content}`;
  const known = parsedSpecs.get(key);
  if (known !== undefined) return structuredClone(known);
  const spec = parseSpecText(content, file);
  if (parsedSpecs.size >= MAX_PARSED_SPECS) parsedSpecs.clear();
  parsedSpecs.set(key, spec);
  return structuredClone(spec);
}

function parseSpecText(content: string, file: string): RenderedSpec {
  const parsed = parseYamlText(content, file);
  if (parsed.issues) {
    throw new InvalidInputError(
      `${file} is not a valid docker container spec: ${parsed.issues[0] ?? "invalid YAML"}. Fix the template ` +
        `that renders it (or re-render it with sysconfig render).`,
      { issues: parsed.issues },
    );
  }
  const result = renderedSpecSchema.safeParse(parsed.value);
  if (result.success) return result.data;
  // A file's content reaches these messages only as a few short, escaped excerpts (keys of a wrong file).
  const issues = result.error.issues.map(
    (issue) =>
      `${file}: ${escapeControls(issue.path.map(String).join(".").slice(0, 120)) || "(top level)"}: ` +
      (issue.code === "unrecognized_keys"
        ? `unknown keys ${shownList(issue.keys)}`
        : shortMessage(issue.message)),
  );
  throw new InvalidInputError(
    `${file} is not a valid docker container spec: fix the service's template, or, if the file was rendered ` +
      `for another target kind, run sysconfig render:\n  ${issues.slice(0, 5).join("\n  ")}` +
      (issues.length > 5 ? `\n  … and ${issues.length - 5} more` : ""),
    { issues },
  );
}

/** zod's message, one line, control characters visible, cut to a line's length. */
function shortMessage(message: string): string {
  const one = escapeControls(message.replace(/\n+/g, " "));
  return one.length > 160 ? `${one.slice(0, 157)}...` : one;
}
