// The desired state's secrets, decrypted for apply with the reconciler's identity (docs/secrets.md).
import { sealedSecretsOf } from "../config/secrets-of.js";
import { InvalidInputError, reasonOf } from "../errors.js";
import type { DesiredState } from "../model.js";
import { readIdentities, type Identities } from "../secrets/identity.js";
import { listed, NO_SECRET_VALUES, openSecrets, type SecretValues } from "../secrets/open.js";

/** Every secret of the environment, decrypted; exit 3 naming each one that cannot be, before anything is applied. */
export async function openDesiredSecrets(
  desired: DesiredState,
  identityFile: string | undefined,
): Promise<SecretValues> {
  const sealed = sealedSecretsOf(desired.services, desired.environment);
  if (sealed.length === 0) return NO_SECRET_VALUES;
  let identities: Identities | undefined;
  try {
    identities = identityFile ? await readIdentities(identityFile) : undefined;
  } catch (error) {
    // A Kubernetes CronJob mounts the identity Secret as an optional volume: a missing Secret is a missing
    // file, and whoever reads the pod's log must learn which secrets need which recipient's identity.
    throw new InvalidInputError(
      `secrets decrypt failed: ${reasonOf(error)} ${sealed.length} secret(s) need it: ${listed(sealed)}. ` +
        `Nothing was applied.`,
      { cause: error },
    );
  }
  return openSecrets(sealed, identities);
}
