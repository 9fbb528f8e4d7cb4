// The webhook's authentication: HMAC-SHA256 of the raw body in X-Hub-Signature-256 ("sha256=<hex>"),
// the format GitHub, Gitea, Forgejo and Gogs send, compared in constant time.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-hub-signature-256";

export type SignatureCheck = "valid" | "missing" | "malformed" | "mismatch";

/** The header value a sender with `secret` puts on `body`. */
export function signBody(secret: Buffer, body: Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Checks `header` against the body's HMAC; the comparison takes the same time wherever they differ. */
export function checkSignature(secret: Buffer, body: Buffer, header: string | undefined): SignatureCheck {
  if (header === undefined || header === "") return "missing";
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (match?.[1] === undefined) return "malformed";
  const given = Buffer.from(match[1].toLowerCase(), "hex");
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(given, expected) ? "valid" : "mismatch";
}
