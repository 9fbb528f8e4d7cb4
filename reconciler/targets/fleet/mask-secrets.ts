// Secret values never reach plan output: environment assignments whose name looks like a secret
// (in Environment= lines and in `docker run -e NAME=value` arguments) show as a short hash instead,
// so a changed secret still shows as changed.
import { createHash } from "node:crypto";
import type { UnitOption } from "./unit-file.js";

const SECRET_NAME = /(secret|passw(or)?d|token|api_?key|private_?key|credential|auth)/i;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/;

interface Token {
  start: number;
  end: number;
  /** The word with systemd quoting removed. */
  word: string;
}

/** Splits a systemd command line or Environment= value into words, keeping each word's raw span. */
function words(value: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /\s/.test(value.charAt(i))) i++;
    if (i >= value.length) break;
    const start = i;
    let word = "";
    let quote: string | undefined;
    while (i < value.length) {
      const c = value.charAt(i);
      if (quote === undefined && /\s/.test(c)) break;
      if (c === "\\" && i + 1 < value.length) {
        word += value.charAt(i + 1);
        i += 2;
        continue;
      }
      if (quote === undefined && (c === '"' || c === "'")) quote = c;
      else if (c === quote) quote = undefined;
      else word += c;
      i++;
    }
    tokens.push({ start, end: i, word });
  }
  return tokens;
}

function secretHash(value: string): string {
  return `<secret:sha256:${createHash("sha256").update(value).digest("hex").slice(0, 12)}>`;
}

/** Replaces the value of secret-looking NAME=value words; `isAssignment` says which words count. */
function maskWords(value: string, isAssignment: (tokens: Token[], index: number) => boolean): string {
  const tokens = words(value);
  let out = "";
  let last = 0;
  tokens.forEach((token, index) => {
    const match = ASSIGNMENT.exec(token.word);
    if (!match || !isAssignment(tokens, index)) return;
    const [, name = "", secret = ""] = match;
    if (!SECRET_NAME.test(name)) return;
    out += value.slice(last, token.start) + `${name}=${secretHash(secret)}`;
    last = token.end;
  });
  return out + value.slice(last);
}

export function maskOption(option: UnitOption): UnitOption {
  if (option.name === "Environment") {
    return { ...option, value: maskWords(option.value, () => true) };
  }
  if (option.name.startsWith("Exec")) {
    const afterEnvFlag = (tokens: Token[], index: number): boolean => {
      const previous = tokens[index - 1]?.word;
      return previous === "-e" || previous === "--env";
    };
    return { ...option, value: maskWords(option.value, afterEnvFlag) };
  }
  return option;
}

export function maskOptions(options: readonly UnitOption[]): UnitOption[] {
  return options.map(maskOption);
}
