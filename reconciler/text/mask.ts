// Secret masking for anything printed (plans, diffs, JSON, warnings): values of environment variables
// whose name looks secret are replaced by a short keyed fingerprint, so a changed secret still shows as
// changed within one run; the password inside any URL (postgres://app:***@db/app) is masked whatever
// the variable's name. Targets call maskSecrets() on DesiredObject.text / ActualObject.text; the plan
// masks again.
import { nodeCrypto } from "./lazy-crypto.js";
import { maskUrlUserinfo } from "./url-userinfo.js";

/** Names that look like they hold a secret: DB_PASSWORD, API_TOKEN, AWS_SECRET_ACCESS_KEY, … */
export const SECRET_NAME = /(pass(word)?|secret|token|key|credential|auth)/i;

/**
 * The fingerprint key lives only as long as this process: a printed fingerprint says "same" or
 * "different" within one plan and cannot be brute-forced back into a short secret (an unkeyed hash of
 * `hunter2` can). Nothing may compare fingerprints across runs.
 */
let processKey: Buffer | undefined;

/**
 * A mask: this version's `<secret hmac:…>`, an older version's `<secret sha256:…>`, a bare `<secret>`, or
 * a reference to an encrypted value, `<secret age:…>` (reconciler/secrets/reference.ts), shown as it is.
 */
const MASK = String.raw`<secret(?: (?:hmac|sha256):[0-9a-f]{8}| age:[0-9a-f]{16})?>`;
const MASKED = new RegExp(`^${MASK}$`);
/** One systemd word: a double-quoted string (with escapes) or unquoted text; a mask counts as one word. */
const WORD = new RegExp(String.raw`"(?:[^"\\]|\\.)*"|(?:${MASK}|[^\s"])+`, "g");

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function isMasked(value: string): boolean {
  return MASKED.test(value);
}

/** The replacement for a secret value: `<secret hmac:1a2b3c4d>` (HMAC-SHA256 under the process key). */
export function maskValue(value: string): string {
  if (MASKED.test(value)) return value;
  return `<secret hmac:${nodeCrypto()
    .createHmac("sha256", (processKey ??= nodeCrypto().randomBytes(32)))
    .update(value)
    .digest("hex")
    .slice(0, 8)}>`;
}

/**
 * Every value this process decrypted (reconciler/secrets/open.ts): masked wherever it appears, in any
 * text maskSecrets or redactValues sees, whatever its variable's name.
 */
const decrypted = new Set<string>();

/** Masks `value` in every later printout of this process. */
export function rememberSecretValue(value: string): void {
  decrypted.add(value);
}

/** Shortest secret value replaced verbatim by redactValues (shorter ones would blank out ordinary text). */
const MIN_REDACTED_LENGTH = 4;

/**
 * Replaces every occurrence of the given secret values in free text (container logs, health check
 * output, engine errors) with their mask: for text that does not say `NAME=value`.
 */
export function redactValues(text: string, secrets: Iterable<string>): string {
  const values = [...new Set([...secrets, ...decrypted])]
    .filter((v) => v.length >= MIN_REDACTED_LENGTH && !MASKED.test(v))
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const value of values) out = out.split(value).join(maskValue(value));
  return maskUrlUserinfo(out);
}

/** Masks one `NAME=value` word, keeping its quotes. */
function maskAssignment(word: string): string {
  const quoted = word.startsWith('"') && word.endsWith('"') && word.length >= 2;
  const inner = quoted ? word.slice(1, -1) : word;
  const eq = inner.indexOf("=");
  if (eq <= 0) return word;
  const name = inner.slice(0, eq);
  if (!isSecretName(name)) {
    // `Environment=API_TOKEN=x` quoted in free text: look at the assignment inside.
    const rest = inner.slice(eq + 1);
    if (quoted || !rest.includes("=")) return word;
    return `${name}=${maskAssignment(rest)}`;
  }
  const masked = `${name}=${maskValue(inner.slice(eq + 1))}`;
  return quoted ? `"${masked}"` : masked;
}

/**
 * systemd units and command lines: every `NAME=value` word whose name looks secret — `Environment=`
 * assignments, docker `-e NAME=value`, `--password=…` — wherever it appears on a line.
 */
export function maskUnitSecrets(text: string): string {
  return maskUrlUserinfo(text)
    .split("\n")
    .map((line) => {
      // Only a line naming something secret-looking can hold a secret assignment (each name tested
      // below is part of the line): most lines of 1,000 units skip the word scan.
      if (!line.includes("=") || !SECRET_NAME.test(line)) return line;
      // A unit line's own key (`Environment=`, `ExecStart=`) is not a word of its value.
      const key = /^(\s*[A-Za-z][A-Za-z0-9-]*\s*=\s*)/.exec(line)?.[1] ?? "";
      return key + line.slice(key.length).replace(WORD, maskAssignment);
    })
    .join("\n");
}

const YAML_KEY = /^(\s*)(-\s+)?("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z_][A-Za-z0-9_.-]*)(\s*:\s*)(.*)$/;

function unquoteKey(key: string): string {
  if (key.startsWith('"')) {
    try {
      return JSON.parse(key) as string;
    } catch {
      return key.slice(1, -1);
    }
  }
  return key.startsWith("'") ? key.slice(1, -1) : key;
}

/** A YAML scalar as written (quoted or plain, trailing comment kept) with its value masked. */
function maskScalar(raw: string): string {
  const trimmed = raw.trim();
  if (
    trimmed === "" ||
    trimmed === "|" ||
    trimmed === ">" ||
    trimmed.startsWith("{") ||
    trimmed.startsWith("[")
  )
    return raw;
  const unquoted = trimmed.startsWith('"') ? unquoteKey(trimmed) : trimmed.replace(/^'(.*)'$/, "$1");
  if (MASKED.test(unquoted)) return raw;
  return JSON.stringify(maskValue(unquoted));
}

/** Flow-style list entries: `- { name: "DB_PASSWORD", value: "x" }`. */
function maskFlowEntry(line: string): string {
  const name = /name:\s*("(?:[^"\\]|\\.)*"|[^,}\s]+)/.exec(line);
  if (!name?.[1] || !isSecretName(unquoteKey(name[1]))) return line;
  return line.replace(
    /(value:\s*)("(?:[^"\\]|\\.)*"|[^,}]+?)(\s*[,}])/,
    (_a, pre: string, v: string, post: string) => `${pre}${maskScalar(v)}${post}`,
  );
}

/**
 * YAML specs and manifests: values in `env:` maps (`NAME: value`), env lists (`- name: NAME` then
 * `value: …`, or flow style), and every value under `data:`/`stringData:` of a Kubernetes Secret.
 */
export function maskYamlSecrets(text: string): string {
  const lines = maskUrlUserinfo(text).split("\n");
  const isSecretDoc = (from: number): boolean => {
    for (let i = from; i < lines.length && lines[i] !== "---"; i += 1) {
      if (/^kind:\s*["']?Secret["']?\s*$/.test(lines[i] ?? "")) return true;
    }
    for (let i = from - 1; i >= 0 && lines[i] !== "---"; i -= 1) {
      if (/^kind:\s*["']?Secret["']?\s*$/.test(lines[i] ?? "")) return true;
    }
    return false;
  };
  let block: { indent: number; kind: "env" | "data" } | undefined;
  let secretListName = false;
  return lines
    .map((line, index) => {
      const indent = line.length - line.trimStart().length;
      if (block && line.trim() !== "" && indent <= block.indent) block = undefined;
      const match = YAML_KEY.exec(line);
      if (!block) {
        if (match && match[5]?.trim() === "" && /^(env|environment)$/.test(unquoteKey(match[3] ?? ""))) {
          block = { indent, kind: "env" };
        } else if (match && match[5]?.trim() === "" && /^(data|stringData)$/.test(match[3] ?? "")) {
          if (isSecretDoc(index)) block = { indent, kind: "data" };
        }
        return line;
      }
      if (/^\s*-\s*\{/.test(line)) return maskFlowEntry(line);
      if (!match) return line;
      const [, lead = "", dash = "", key = "", colon = "", value = ""] = match;
      const name = unquoteKey(key);
      if (block.kind === "data") return `${lead}${dash}${key}${colon}${maskScalar(value)}`;
      if (name === "name" && dash !== "") {
        secretListName = isSecretName(unquoteKey(value.trim()));
        return line;
      }
      if (name === "value" && secretListName) {
        secretListName = false;
        return `${lead}${dash}${key}${colon}${maskScalar(value)}`;
      }
      if (dash === "" && isSecretName(name)) return `${lead}${key}${colon}${maskScalar(value)}`;
      return line;
    })
    .join("\n");
}

/** Masks unit-style and YAML-style secrets and URL passwords; idempotent (a masked value is left as it is). */
export function maskSecrets(text: string): string {
  return maskYamlSecrets(maskUnitSecrets(decrypted.size > 0 ? redactValues(text, []) : text));
}
