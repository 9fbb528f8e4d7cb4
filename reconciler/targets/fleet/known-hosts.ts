// known_hosts checking for every SSH hop: plain and `[host]:port` patterns, hashed `|1|salt|hash`
// entries, `*`/`?` wildcards, `!` negation and `@revoked`. Fingerprints are OpenSSH's SHA256:… form.
import { createHash, createHmac } from "node:crypto";

interface KnownHostEntry {
  marker?: string;
  patterns: string;
  keyType: string;
  key: Buffer;
}

export type HostKeyVerdict =
  | { ok: true }
  | { ok: false; problem: "unknown" | "changed" | "revoked"; fingerprint: string; keyType: string };

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
    const [patterns, keyType, key] = fields;
    if (!patterns || !keyType || !key) continue;
    entries.push({ ...(marker ? { marker } : {}), patterns, keyType, key: Buffer.from(key, "base64") });
  }
  return entries;
}

/** OpenSSH's host name form: `host` on port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside an SSH public key blob (e.g. ssh-ed25519). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return "unknown";
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString("latin1");
}

function globMatch(pattern: string, name: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${regex}$`, "i").test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split("|");
  if (magic !== "1" || !salt || !hash) return false;
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return digest === hash;
}

function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.patterns.startsWith("|")) return hashedMatch(entry.patterns, name);
  let matched = false;
  for (const pattern of entry.patterns.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** Checks a presented host key against the entries for `host:port`. */
export function verifyHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): HostKeyVerdict {
  const name = hostPattern(host, port);
  const keyType = keyTypeOf(key);
  const bad = { fingerprint: fingerprint(key), keyType };
  const mine = entries.filter((e) => entryMatches(e, name));
  if (mine.some((e) => e.marker === "@revoked" && e.key.equals(key)))
    return { ok: false, problem: "revoked", ...bad };
  const plain = mine.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key.equals(key))) return { ok: true };
  return { ok: false, problem: plain.length > 0 ? "changed" : "unknown", ...bad };
}

/** The key types known_hosts pins for `host:port` (plain, not @revoked), in file order. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = hostPattern(host, port);
  const types = entries.filter((e) => e.marker === undefined && entryMatches(e, name)).map((e) => e.keyType);
  return [...new Set(types)];
}
