// A ciphertext's fingerprint: a short SHA-256 of the binary age file. It identifies one encryption of a
// value (age output is randomized, so two encryptions of the same value differ) and says nothing about
// the plaintext; plan compares fingerprints when no identity is at hand.
import { nodeCrypto } from "../text/lazy-crypto.js";
import { dearmor } from "./age.js";

export const FINGERPRINT = /^age:[0-9a-f]{16}$/;

/** `age:` and 16 hex digits of SHA-256 over the dearmored ciphertext (armor line breaks do not count). */
export function fingerprintOf(armored: string): string {
  let bytes: Uint8Array;
  try {
    bytes = dearmor(armored);
  } catch {
    bytes = Buffer.from(armored, "utf8");
  }
  return `age:${nodeCrypto().createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
}
