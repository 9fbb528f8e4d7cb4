// Which strings are age X25519 recipients. Only X25519 (`age1` + 58 bech32 characters): the
// post-quantum and tag kinds are newer than the age CLI most distributions ship.
import { age } from "./age-module.js";

const X25519_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;

/** What a recipient must look like, for error messages. */
export const RECIPIENT_RULE =
  "an age X25519 recipient (age1 followed by 58 characters, as printed by sysconfig keygen or age-keygen -y)";

/** True for a well-formed recipient whose bech32 checksum is right. */
export function isRecipient(value: string): boolean {
  if (!X25519_RECIPIENT.test(value)) return false;
  try {
    new (age().Encrypter)().addRecipient(value);
    return true;
  } catch {
    return false;
  }
}
