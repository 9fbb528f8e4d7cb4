// systemd unit text ⇄ fleet's list of {section, name, value} options, and the unit hash fleet reports.
import { nodeCrypto } from "../../text/lazy-crypto.js";
import { escapeControls } from "../../text/escape.js";

/** One option of a unit file, as fleet's API carries it. */
export interface UnitOption {
  section: string;
  name: string;
  value: string;
}

/** A unit text that does not parse. The message names the line and at most an option's key, never a
 * line's text: values (Environment=PASSWORD=…) must not reach logs. */
export class UnitFileSyntaxError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const isComment = (line: string): boolean => line.startsWith("#") || line.startsWith(";");

/**
 * Parses unit text the way systemd reads it: `[Section]` headers, `#`/`;` comment lines, a trailing `\`
 * continuing the value on the next line (joined with a space; comment lines inside are skipped), keys
 * and values trimmed, empty values and repeated keys kept, order kept.
 */
export function parseUnitFile(text: string): UnitOption[] {
  const lines = text.split(/\r?\n/);
  const options: UnitOption[] = [];
  let section: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "" || isComment(line)) continue;
    if (line.startsWith("[")) {
      const close = line.indexOf("]");
      if (close < 0) throw new UnitFileSyntaxError(i + 1, "unterminated section header (no closing ']')");
      if (line.slice(close + 1).trim() !== "") {
        throw new UnitFileSyntaxError(i + 1, "text after the ']' of a section header");
      }
      section = line.slice(1, close);
      if (section === "") throw new UnitFileSyntaxError(i + 1, "empty section name");
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new UnitFileSyntaxError(i + 1, "expected KEY=VALUE, got a line without '='");
    const name = line.slice(0, eq).trim();
    if (name === "") throw new UnitFileSyntaxError(i + 1, "empty option name (the line starts with '=')");
    if (section === undefined) {
      throw new UnitFileSyntaxError(i + 1, `option '${keyShown(name)}' before any [Section] header`);
    }
    let value = line.slice(eq + 1);
    const start = i + 1;
    while (value.endsWith("\\")) {
      value = `${value.slice(0, -1)} `;
      i++;
      while (i < lines.length && isComment((lines[i] ?? "").trim())) i++;
      if (i >= lines.length)
        throw new UnitFileSyntaxError(start, `continuation of '${keyShown(name)}' at end of file`);
      value += (lines[i] ?? "").trim();
    }
    options.push({ section, name, value: value.trim() });
  }
  return options;
}

/**
 * Serializes options exactly as fleet does (go-systemd unit.Serialize): sections in order of first
 * appearance with their options grouped under them, `[Section]\n`, `Name=Value\n`, a blank line
 * between sections, none at the end. Fleet's unit hash is the SHA-1 of this text.
 */
export function serializeUnitOptions(options: readonly UnitOption[]): string {
  const bySection = new Map<string, UnitOption[]>();
  for (const option of options) {
    const list = bySection.get(option.section);
    if (list) list.push(option);
    else bySection.set(option.section, [option]);
  }
  const blocks: string[] = [];
  for (const [section, list] of bySection) {
    blocks.push(`[${section}]\n${list.map((o) => `${o.name}=${o.value}\n`).join("")}`);
  }
  return blocks.join("\n");
}

/** The hash fleet's /state reports for a unit with these options (unit.UnitFile.Hash()). */
export function fleetUnitHash(options: readonly UnitOption[]): string {
  return fleetTextHash(serializeUnitOptions(options));
}

/** The same hash of options already serialized (serializeUnitOptions). */
export function fleetTextHash(serialized: string): string {
  return nodeCrypto().createHash("sha1").update(serialized).digest("hex");
}

/** Fleet's wire options may omit empty fields (Go `omitempty`): fill them in. */
export function normalizeOptions(raw: unknown): UnitOption[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((o: unknown) => {
    const r = (o ?? {}) as Partial<Record<keyof UnitOption, unknown>>;
    return {
      section: typeof r.section === "string" ? r.section : "",
      name: typeof r.name === "string" ? r.name : "",
      value: typeof r.value === "string" ? r.value : "",
    };
  });
}

/** An option's key as an error shows it: control characters visible, at most 60 characters. */
function keyShown(name: string): string {
  const visible = escapeControls(name);
  return visible.length > 60 ? `${visible.slice(0, 57)}...` : visible;
}
