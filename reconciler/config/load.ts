// Reads and validates sysconfig.yaml. Returns every problem as "file: dotted.path: message";
// never prints, never exits.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { InvalidInputError, reasonOf } from "../errors.js";
import { isSecretName, maskSecrets, maskValue } from "../plan/mask.js";
import { configSchema, type SysconfigConfig } from "./schema.js";

export const CONFIG_FILE = "sysconfig.yaml";

export type LoadResult =
  { config: SysconfigConfig; issues?: undefined } | { config?: undefined; issues: string[] };

/** Validates YAML text; `file` only labels the issues. */
export function parseConfig(text: string, file: string = CONFIG_FILE): LoadResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { issues: doc.errors.map((e) => `${file}: ${e.message.split("\n")[0] ?? e.message}`) };
  }
  const result = configSchema.safeParse(doc.toJS());
  if (result.success) return { config: result.data };
  return { issues: result.error.issues.map((issue) => formatIssue(file, issue, doc.toJS())) };
}

function formatIssue(file: string, issue: z.core.$ZodIssue, root: unknown): string {
  const dotted = issue.path.map(String).join(".") || "(top level)";
  const actual = shownValue(valueAt(root, issue.path), issue.path.some(isSecretKey));
  const got = actual === undefined ? "nothing" : JSON.stringify(actual);
  return `${file}: ${dotted}: expected ${describeExpected(issue)}, got ${truncate(got)}`;
}

function describeExpected(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_format" && "pattern" in issue) return issue.message;
  if (issue.code === "unrecognized_keys") return `no unknown keys (${issue.keys.join(", ")})`;
  return issue.message.replace(/^Invalid input: expected /, "");
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
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(
      `${file}: cannot read the config (${reasonOf(error)}). Run sysconfig in a config repo, or pass --repo.`,
      { cause: error },
    );
  }
  const result = parseConfig(text, file);
  if (result.issues) {
    throw new InvalidInputError(`${file} is invalid:\n  ${result.issues.join("\n  ")}`, {
      issues: result.issues,
    });
  }
  return result.config;
}
