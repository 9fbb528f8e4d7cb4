// The desired state's secrets, decrypted for apply with the reconciler's identity (docs/secrets.md).
import { sealedSecretsOf } from "../config/secrets-of.js";
import type { DesiredState } from "../model.js";
import { readIdentities } from "../secrets/identity.js";
import { NO_SECRET_VALUES, openSecrets, type SecretValues } from "../secrets/open.js";

/** Every secret of the environment, decrypted; exit 3 naming each one that cannot be, before anything is applied. */
export async function openDesiredSecrets(
  desired: DesiredState,
  identityFile: string | undefined,
): Promise<SecretValues> {
  const sealed = sealedSecretsOf(desired.services, desired.environment);
  if (sealed.length === 0) return NO_SECRET_VALUES;
  const identities = identityFile ? await readIdentities(identityFile) : undefined;
  return openSecrets(sealed, identities);
}
