// fleetd v1.0.0 wire details, written independently of the product's client so tests cross-check it:
// go-systemd's unit serialization (the unit hash), page tokens, error entities, Go's omitempty.
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";

export interface WireOption {
  section: string;
  name: string;
  value: string;
}

/** go-systemd unit.Serialize: sections in first-seen order, options grouped, blank line between. */
export function serialize(options: readonly WireOption[]): string {
  const sections: string[] = [];
  const grouped = new Map<string, WireOption[]>();
  for (const o of options) {
    if (!grouped.has(o.section)) {
      sections.push(o.section);
      grouped.set(o.section, []);
    }
    grouped.get(o.section)?.push(o);
  }
  let out = "";
  sections.forEach((section, i) => {
    out += `[${section}]\n`;
    for (const o of grouped.get(section) ?? []) out += `${o.name}=${o.value}\n`;
    if (i < sections.length - 1) out += "\n";
  });
  return out;
}

/** unit.UnitFile.Hash(): SHA-1 of the serialized unit, hex. */
export function unitHash(options: readonly WireOption[]): string {
  return createHash("sha1").update(serialize(options)).digest("hex");
}

/** api.PageToken{Limit uint16, Page uint16}, little-endian, base64.URLEncoding (padded). */
export function encodePageToken(limit: number, page: number): string {
  const buf = Buffer.alloc(4);
  buf.writeUInt16LE(limit, 0);
  buf.writeUInt16LE(page, 2);
  return buf.toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

export function decodePageToken(value: string, limit: number): { page: number } | { error: string } {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    const bad = value.search(/[^A-Za-z0-9_=-]/);
    return { error: `illegal base64 data at input byte ${bad >= 0 ? bad : value.length}` };
  }
  const buf = Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (buf.length < 4) return { error: buf.length === 0 ? "EOF" : "unexpected EOF" };
  const tokenLimit = buf.readUInt16LE(0);
  const page = buf.readUInt16LE(2);
  if (tokenLimit !== limit) return { error: `token limit must be ${limit}` };
  if (page === 0) return { error: "token page must be greater than zero" };
  return { page };
}

/** Go's encoding/json with `omitempty` on every field: empty strings, empty lists, nulls dropped. */
export function omitEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(omitEmpty);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === "" || v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
      out[k] = omitEmpty(v);
    }
    return out;
  }
  return value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(omitEmpty(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** api.sendError: `{"error":{"code":N,"message":"..."}}` (message "" kept: it has no omitempty). */
export function sendError(res: ServerResponse, status: number, message = ""): void {
  const text = JSON.stringify({ error: { code: status, message } });
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

const UNIT_TYPES = new Set([
  "service",
  "socket",
  "busname",
  "target",
  "snapshot",
  "device",
  "mount",
  "automount",
  "swap",
  "timer",
  "path",
  "slice",
  "scope",
]);

/** api.ValidateName (systemd's unit_name_is_valid). */
export function validateName(name: string): string | undefined {
  if (name.length === 0) return "unit name cannot be empty";
  if (name.length > 256) return "unit name exceeds maximum length (256)";
  const dot = name.lastIndexOf(".");
  if (dot === -1) return 'unit name must contain "."';
  if (dot === name.length - 1) return 'unit name cannot end in "."';
  const suffix = name.slice(dot + 1);
  if (!UNIT_TYPES.has(suffix)) return `invalid unit type: "${suffix}"`;
  for (const c of name.slice(0, dot)) {
    if (!/[0-9A-Za-z:\-_.\\@]/.test(c)) return `invalid character "${c}" in unit name`;
  }
  if (name.startsWith("@")) return 'unit name cannot start in "@"';
  return undefined;
}

/** unit.NewUnitNameInfo(name).IsTemplate(): `foo@.service`. */
export function isTemplateName(name: string): boolean {
  const dot = name.lastIndexOf(".");
  const base = dot === -1 ? name : name.slice(0, dot);
  const at = base.indexOf("@");
  return at !== -1 && base.slice(at + 1) === "";
}
