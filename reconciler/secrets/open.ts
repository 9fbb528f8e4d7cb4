// Decrypts an environment's secrets with the reconciler's identity, all or nothing: any secret that
// cannot be decrypted is exit 3 naming every such secret and the recipients it was encrypted to, before
// anything is applied. Every decrypted value is remembered by text/mask.ts, so no printout shows it.
import { InvalidInputError, InternalError, reasonOf } from "../errors.js";
import { rememberSecretValue } from "../text/mask.js";
import { decryptWith } from "./age.js";
import type { Identities } from "./identity.js";
import { replaceReferences } from "./reference.js";
import { secretLabel, type SealedSecret } from "./sealed.js";

/** The decrypted values the targets use at apply (and only there). */
export interface SecretValues {
  /** The value of the secret with this ciphertext fingerprint; throws for an unknown one. */
  valueOf(fingerprint: string): string;
  /** `text` with every `<secret age:…>` reference replaced by its value. */
  resolve(text: string): string;
}

/** No secrets at all: resolving a reference is a bug (desired state and values out of step). */
const unknownSecret = (fingerprint: string): string => {
  throw new InternalError(`secret ${fingerprint} was referenced but never decrypted`);
};
export const NO_SECRET_VALUES: SecretValues = {
  valueOf: unknownSecret,
  resolve: (text) => replaceReferences(text, unknownSecret),
};

export async function openSecrets(
  sealed: readonly SealedSecret[],
  identities: Identities | undefined,
): Promise<SecretValues> {
  if (sealed.length === 0) return NO_SECRET_VALUES;
  if (identities === undefined) {
    throw new InvalidInputError(
      `secrets decrypt failed: no identity given, and ${sealed.length} secret(s) need one: ${listed(sealed)}. ` +
        `Pass --identity-file FILE (or SYSCONFIG_IDENTITY_FILE) naming this environment's age identity ` +
        `(docs/secrets.md). Nothing was applied.`,
    );
  }
  const values = new Map<string, string>();
  const failed: { secret: SealedSecret; reason: string }[] = [];
  for (const secret of sealed) {
    try {
      values.set(secret.fingerprint, await decryptWith(secret.ciphertext, identities.identities));
    } catch (error) {
      failed.push({ secret, reason: reasonOf(error) });
    }
  }
  if (failed.length > 0) {
    throw new InvalidInputError(
      `secrets decrypt failed: the identity in ${identities.file} (recipient ${identities.recipients.join(", ")}) ` +
        `cannot decrypt ${failed.length} of ${sealed.length} secret(s): ${listed(failed.map((f) => f.secret))}. ` +
        `Use the identity of one of those recipients, or re-encrypt the secrets to this one ` +
        `(sysconfig secret reencrypt). Nothing was applied.`,
      { cause: failed[0]?.reason },
    );
  }
  for (const value of values.values()) rememberSecretValue(value);
  const valueOf = (fingerprint: string): string => {
    const value = values.get(fingerprint);
    if (value === undefined) {
      throw new InvalidInputError(
        `secret reference <secret ${fingerprint}> matches no secret of this environment: rendered/ and ` +
          `sysconfig.yaml are out of step. Run sysconfig render and commit. Nothing was applied.`,
      );
    }
    return value;
  };
  return { valueOf, resolve: (text) => replaceReferences(text, valueOf) };
}

/** `hello/DB_PASSWORD (master, encrypted to age1…); …`: which secrets, and who can decrypt them. */
export function listed(sealed: readonly SealedSecret[]): string {
  return sealed
    .map((s) => `${secretLabel(s)} (${s.environment}, encrypted to ${s.recipients.join(", ")})`)
    .join("; ");
}
