// The head of sysconfig.yaml: the document without its top-level `services:` block. It names the system
// and its environments' targets, which is all a target needs to start its reads, and it parses in about a
// millisecond where the whole file of 1,000 services takes ~0.1 s. A hint only: the whole file is still
// parsed and checked, and decides. Anything unusual (flow style, several documents, an alias into the
// services block) gives no head, and the run simply starts its reads after the full parse, as before.
import { parseYamlText } from "./yaml-text.js";

export interface ConfigHead {
  name: string;
  environments: Record<string, unknown>;
}

/** `services:` alone on its line at the top level (a block mapping follows), with an optional comment. */
const SERVICES_LINE = /^services:[ \t]*(?:#.*)?\r?$/m;
/** The start of the next line at column 0 that is neither blank nor a comment: the next top-level key. */
const NEXT_TOP_LEVEL = /\n(?=[^\s#])/g;

/** The text without the top-level services block, or undefined when there is no such block. */
export function withoutServices(text: string): string | undefined {
  const found = SERVICES_LINE.exec(text);
  if (!found) return undefined;
  NEXT_TOP_LEVEL.lastIndex = found.index + found[0].length;
  const next = NEXT_TOP_LEVEL.exec(text);
  return text.slice(0, found.index) + (next ? text.slice(next.index + 1) : "");
}

/** The system's name and environments as the head of `text` gives them, or undefined (see above). */
export function configHead(text: string): ConfigHead | undefined {
  const head = withoutServices(text);
  if (head === undefined) return undefined;
  const parsed = parseYamlText(head, "sysconfig.yaml");
  const value = parsed.value as { name?: unknown; environments?: unknown } | null | undefined;
  if (value === null || typeof value !== "object") return undefined;
  const { name, environments } = value;
  if (typeof name !== "string" || environments === null || typeof environments !== "object") return undefined;
  if (Array.isArray(environments)) return undefined;
  return { name, environments: environments as Record<string, unknown> };
}
