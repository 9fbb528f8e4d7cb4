// Parses YAML that comes from the config repo (sysconfig.yaml, rendered container specs) into plain data,
// returning problems as "file: line N: message" instead of throwing: duplicate keys, alias bombs
// ("Excessive alias count") and syntax errors are all invalid input, never a stack trace.
// Plain documents take a fast path (js-yaml, about four times faster: a 1,000-service sysconfig.yaml
// parsed in 0.4 s of CPU with the yaml package); anything it declines goes the careful way below.
import { createRequire } from "node:module";
import { load } from "js-yaml";
import type { Document, LineCounter } from "yaml";

// Loaded only when the fast path declines: the yaml package alone costs ~0.1 s of CPU to load.
type YamlModule = typeof import("yaml");
let yamlModule: YamlModule | undefined;
const yaml = (): YamlModule => (yamlModule ??= createRequire(import.meta.url)("yaml") as YamlModule);

export type YamlResult = { value: unknown; issues?: undefined } | { value?: undefined; issues: string[] };

/**
 * Map keys must be unique. yaml's own check (uniqueKeys) compares each key with every earlier one, which is
 * quadratic: a 10 MB sysconfig.yaml took 38 s to validate. This is the same rule (scalar keys equal by
 * value) in one pass per map.
 */
function duplicateKeys(doc: Document, file: string, lines: LineCounter): string[] {
  const { isMap, isScalar, visit } = yaml();
  const issues: string[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = pair.key.value;
        if (seen.has(key)) {
          const line = pair.key.range ? lines.linePos(pair.key.range[0]).line : undefined;
          issues.push(
            `${file}:${line ?? "?"}: the key ${JSON.stringify(String(key))} appears twice in the same map; ` +
              `map keys must be unique (remove or rename one)`,
          );
        }
        seen.add(key);
      }
    },
  });
  return issues;
}

/**
 * Text the fast path leaves to the yaml package, because js-yaml could read it differently: directives
 * (%YAML 1.1 turns `yes` into true), tags (`!!float 1`), and null or empty keys (yaml reads `null:` as
 * the key "", js-yaml as "null").
 */
const DIFFERENT_READING = /^%|(?:^|[\s[{,])!\S|(?:^|[\s[{,?-])(?:~|null|Null|NULL)?[ \t]*:(?:\s|$)/m;

/** A plain number too large for a double (value or key): yaml reads it as Infinity, js-yaml as a string. */
const NUMBER = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
function hasOverflowingNumber(root: unknown): boolean {
  const overflows = (s: string) => s.length > 3 && NUMBER.test(s) && !Number.isFinite(Number(s));
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "string") {
      if (overflows(value)) return true;
    } else if (value !== null && typeof value === "object") {
      for (const key in value) {
        if (overflows(key)) return true;
        stack.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/**
 * js-yaml's reading of a plain document (YAML 1.2 core schema, like the yaml package's), or undefined
 * where it could differ or fails: duplicate keys, aliases, complex keys, empty or several documents and
 * syntax errors all go the careful way, which finds the same problems and words them by line.
 */
function fastPath(text: string): { value: unknown } | undefined {
  if (DIFFERENT_READING.test(text)) return undefined;
  let value: unknown;
  try {
    value = load(text, { maxAliases: 0 });
  } catch {
    return undefined;
  }
  if (value === undefined || hasOverflowingNumber(value)) return undefined;
  return { value };
}

/** The plain value of one YAML document; every problem found, each naming the file and, where known, the line. */
export function parseYamlText(text: string, file: string): YamlResult {
  const fast = fastPath(text);
  if (fast) return fast;
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const errors = doc.errors.map((e) => `${file}: ${e.message.split("\n")[0] ?? e.message}`);
  if (errors.length > 0) return { issues: errors };
  const duplicates = duplicateKeys(doc, file, lines);
  if (duplicates.length > 0) return { issues: duplicates };
  try {
    return { value: doc.toJS() };
  } catch (error) {
    // yaml refuses to expand aliases past maxAliasCount (a "billion laughs" document) with a ReferenceError.
    const reason = error instanceof Error ? error.message : String(error);
    return {
      issues: [
        `${file}: cannot be read as plain data: ${reason}. Anchors and aliases (&name, *name) are expanded ` +
          `when read; write the values out instead of nesting aliases of aliases`,
      ],
    };
  }
}
