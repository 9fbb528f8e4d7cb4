// Reads a rendered docker container spec (`rendered/<svc>.yaml`, the output of
// templates/docker/container.yaml.hbs or a service's own template) into plain, validated data.
import * as z from "zod/mini";
import { port, whole } from "../../config/schema.js";
import { parseYamlText } from "../../config/yaml-text.js";
import { InvalidInputError } from "../../errors.js";
import { escapeControls, shownList } from "../../text/escape.js";

const text = z.string().check(z.regex(/^[^\p{Cc}]*$/u, "a string without control characters"));
const nonEmpty = text.check(z.minLength(1));

const renderedSpecSchema = z.strictObject({
  service: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a service name")),
  image: nonEmpty,
  instances: z._default(whole(1, 100), 1),
  command: z.optional(z.array(text)),
  env: z._default(
    z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")), text),
    {},
  ),
  ports: z._default(
    z.array(
      z.strictObject({
        container: port,
        host: z.optional(port),
        protocol: z._default(z.enum(["tcp", "udp"]), "tcp"),
      }),
    ),
    [],
  ),
  volumes: z._default(
    z.array(
      z.strictObject({
        source: nonEmpty,
        target: text.check(z.regex(/^\//)),
        readOnly: z._default(z.boolean(), false),
      }),
    ),
    [],
  ),
  restart: z._default(z.enum(["no", "always", "on-failure", "unless-stopped"]), "always"),
  network: z._default(z.enum(["host", "none", "bridge"]), "host"),
  health: z.optional(
    z.strictObject({
      test: z.array(text).check(z.minLength(1)),
      intervalSeconds: z._default(whole(1), 10),
      timeoutSeconds: z._default(whole(1), 5),
      retries: z._default(whole(1), 3),
      startPeriodSeconds: z._default(whole(0), 0),
    }),
  ),
  dependsOn: z._default(z.array(z.string()), []),
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
