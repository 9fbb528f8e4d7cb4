// Reads and validates sysconfig.yaml. Returns every problem as "file: dotted.path: message";
// never prints, never exits.
import { stat } from "node:fs/promises";
import path from "node:path";
import type * as z from "zod/mini";
import { InvalidInputError } from "../errors.js";
import { isSecretName, maskSecrets, maskValue } from "../text/mask.js";
import { readRepoText, repoFsError } from "../repo-files.js";
import { escapeControls, shown, shownList } from "../text/escape.js";
import { resolveInRepo } from "../repo-paths.js";
import { configSchema, type SysconfigConfig } from "./schema.js";
import { parseYamlText } from "./yaml-text.js";

export const CONFIG_FILE = "sysconfig.yaml";

/**
 * sysconfig.yaml's size limit: 1,000 services take about 150 KB, and parsing, rendering and checking grow
 * with the size (about 10 s per MiB on a small CI runner), so anything larger is a mistake, not a system.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export type LoadResult =
  { config: SysconfigConfig; issues?: undefined } | { config?: undefined; issues: string[] };

/** Validates YAML text; `file` only labels the issues. */
export function parseConfig(text: string, file: string = CONFIG_FILE): LoadResult {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) return { issues: [tooLarge(file, bytes)] };
  const parsed = parseYamlText(text, file);
  if (parsed.issues) return { issues: parsed.issues };
  const reserved = reservedKeyIssues(file, parsed.value);
  if (reserved.length > 0) return { issues: reserved };
  const result = configSchema.safeParse(parsed.value);
  if (result.success) return { config: result.data };
  return { issues: result.error.issues.map((issue) => formatIssue(file, issue, parsed.value)) };
}

function tooLarge(file: string, bytes: number): string {
  return (
    `${file}: ${bytes} bytes is larger than sysconfig reads (${MAX_CONFIG_BYTES} bytes, 1 MiB; 1,000 services ` +
    `take about 150 KB): split the system into several config repos, or remove what is not config`
  );
}

function formatIssue(file: string, issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === "invalid_key") {
    const key = String(issue.path[issue.path.length - 1] ?? "");
    const rule = issue.issues.map((i) => i.message).join("; ");
    return `${file}: ${dottedPath(issue.path.slice(0, -1))}: the key ${shown(key)} is not ${rule}; rename it`;
  }
  // Recipients are public keys: a bad one is named, although `secrets` looks like a secret's key.
  const secret = issue.path.some(isSecretKey) && !issue.path.includes("recipients");
  const actual = shownValue(valueAt(root, issue.path), secret);
  const got =
    actual === undefined ? "nothing" : actual === null ? "null (an empty value)" : JSON.stringify(actual);
  return `${file}: ${dottedPath(issue.path)}: expected ${describeExpected(issue)}, got ${truncate(got)}`;
}

/** `services.web.env.X`, each key with its control characters made visible (keys come from the file). */
function dottedPath(p: readonly PropertyKey[]): string {
  return p.map((k) => escapeControls(String(k))).join(".") || "(top level)";
}

/** zod's type names in the words of a YAML file. */
const TYPE_WORDS: Record<string, string> = {
  object: "a map of keys (name: value lines)",
  array: "a list (- item lines, or [a, b])",
  string: "a string",
  number: "a number",
  boolean: "true or false",
};

function describeExpected(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_format" && "pattern" in issue) return issue.message;
  if (issue.code === "unrecognized_keys") return `no unknown keys (${shownList(issue.keys)})`;
  if (issue.code === "invalid_type") return TYPE_WORDS[issue.expected] ?? issue.expected;
  return issue.message.replace(/^Invalid input: expected /, "");
}

/** `__proto__` would be dropped by the schema's records without a word: every such key, by path. */
function reservedKeyIssues(file: string, value: unknown, at: string[] = [], out: string[] = []): string[] {
  // One path array and one result for the whole walk: it visits every node of a 1,000-service config.
  if (value === null || typeof value !== "object") return out;
  for (const key of Object.keys(value)) {
    at.push(key);
    if (key === "__proto__") {
      out.push(
        `${file}: ${dottedPath(at)}: the key "__proto__" is reserved (JavaScript objects cannot hold it as a ` +
          `name); rename it`,
      );
    } else {
      reservedKeyIssues(file, (value as Record<string, unknown>)[key], at, out);
    }
    at.pop();
  }
  return out;
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of p) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

const isSecretKey = (key: PropertyKey): boolean => typeof key === "string" && isSecretName(key);

/**
 * A value as an error may echo it: masked under a secret-looking key (`env.DB_PASSWORD`), at any depth,
 * and in `NAME=value` strings — a config error is printed, often into CI logs.
 */
function shownValue(value: unknown, secret: boolean): unknown {
  if (value === undefined || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => shownValue(v, secret));
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        shownValue(v, secret || isSecretKey(k)),
      ]),
    );
  }
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (secret) return maskValue(text);
  return typeof value === "string" ? maskSecrets(value) : value;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Loads `<dir>/sysconfig.yaml` or throws InvalidInputError listing every problem. */
export async function loadConfig(dir: string): Promise<SysconfigConfig> {
  return checkConfigText(await readConfigText(dir));
}

/** sysconfig.yaml's text and path, as loadConfig reads it (size and symlink checks first). */
export interface ConfigText {
  file: string;
  text: string;
}

/** Reads `<dir>/sysconfig.yaml`: a missing, oversized or out-of-repo file is InvalidInputError. */
export async function readConfigText(dir: string): Promise<ConfigText> {
  const file = path.join(dir, CONFIG_FILE);
  // Checked before reading: a symlink out of the repo is refused, a huge file is not read at all.
  const real = await resolveInRepo(dir, CONFIG_FILE);
  const info = await stat(real).catch(() => undefined);
  if (info?.isFile() && info.size > MAX_CONFIG_BYTES) {
    const issue = tooLarge(file, info.size);
    throw new InvalidInputError(`${file} is invalid:\n  ${issue}`, { issues: [issue] });
  }
  let text: string | undefined;
  try {
    text = await readRepoText(dir, CONFIG_FILE);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw repoFsError(file, "read", error);
  }
  if (text === undefined) {
    const cause: unknown = await stat(file).then(
      () => undefined,
      (error: unknown) => error,
    );
    throw new InvalidInputError(
      `${file}: cannot read the config (it does not exist). Run sysconfig in a config repo, or pass --repo.`,
      { cause },
    );
  }
  return { file, text };
}

/** The config of a read sysconfig.yaml, or InvalidInputError listing every problem. */
export function checkConfigText({ file, text }: ConfigText): SysconfigConfig {
  const result = parseConfig(text, file);
  if (result.issues) {
    throw new InvalidInputError(`${file} is invalid:\n  ${result.issues.join("\n  ")}`, {
      issues: result.issues,
    });
  }
  return result.config;
}
