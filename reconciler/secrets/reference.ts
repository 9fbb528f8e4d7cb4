// The reference to a secret that templates, rendered/ and the config image hold instead of its value:
// `<secret age:0123456789abcdef>`, the ciphertext's fingerprint. It has the shape of a mask
// (text/mask.ts), so every printout leaves it as it is, and a changed secret changes its reference,
// so a git diff of rendered/ and a plan show that it changed without anyone decrypting it.
import { FINGERPRINT } from "./fingerprint.js";

const REFERENCE = /<secret (age:[0-9a-f]{16})>/g;

export function referenceOf(fingerprint: string): string {
  if (!FINGERPRINT.test(fingerprint)) throw new TypeError(`not a secret fingerprint: ${fingerprint}`);
  return `<secret ${fingerprint}>`;
}

/** Every fingerprint referenced in a text, in order of appearance (repeats kept). */
export function referencedFingerprints(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((m) => m[1] ?? "");
}

export function hasReference(text: string): boolean {
  return referencedFingerprints(text).length > 0;
}

/** The text with each reference replaced by `valueOf(fingerprint)`. */
export function replaceReferences(text: string, valueOf: (fingerprint: string) => string): string {
  return text.replace(REFERENCE, (_whole, fingerprint: string) => valueOf(fingerprint));
}
