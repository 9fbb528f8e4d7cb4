// Parses YAML that comes from the config repo (sysconfig.yaml, rendered container specs) into plain data,
// returning problems as "file: line N: message" instead of throwing: duplicate keys, alias bombs
// ("Excessive alias count") and syntax errors are all invalid input, never a stack trace.
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from "yaml";

export type YamlResult = { value: unknown; issues?: undefined } | { value?: undefined; issues: string[] };

/**
 * Map keys must be unique. yaml's own check (uniqueKeys) compares each key with every earlier one, which is
 * quadratic: a 10 MB sysconfig.yaml took 38 s to validate. This is the same rule (scalar keys equal by
 * value) in one pass per map.
 */
function duplicateKeys(doc: Document, file: string, lines: LineCounter): string[] {
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

/** The plain value of one YAML document; every problem found, each naming the file and, where known, the line. */
export function parseYamlText(text: string, file: string): YamlResult {
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
