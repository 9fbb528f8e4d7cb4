// Which encrypted values an update changes, from the fingerprints both sides of a plan show (the live
// side's were stored with the object at apply): no decryption, so plan works without the identity.

/** `NAME: <secret age:…>`, `NAME=<secret age:…>` (units, specs) and `NAME=age:…` (a Secret's annotation). */
const ASSIGNED = /([A-Za-z_][A-Za-z0-9_]*)"?(?:\s*[:=]\s*"?<secret (age:[0-9a-f]{16})>|=(age:[0-9a-f]{16}))/g;

function fingerprintsByName(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(ASSIGNED)) out.set(m[1] ?? "", m[2] ?? m[3] ?? "");
  return out;
}

/** One note per encrypted value that differs: `secret API_TOKEN: changed (encrypted)`, added or removed. */
export function encryptedChangeNotes(liveText: string, desiredText: string): string[] {
  const live = fingerprintsByName(liveText);
  const desired = fingerprintsByName(desiredText);
  const notes: string[] = [];
  for (const name of [...new Set([...live.keys(), ...desired.keys()])].sort()) {
    const before = live.get(name);
    const after = desired.get(name);
    if (before === after) continue;
    notes.push(
      `secret ${name}: ${before === undefined ? "added" : after === undefined ? "removed" : "changed"} (encrypted)`,
    );
  }
  return notes;
}
