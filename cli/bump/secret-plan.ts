// Works out what `secret set`, `secret rm` and `secret reencrypt` change in a config-repo checkout: the
// encrypted entry in sysconfig.yaml and the service's re-rendered file (its reference changes). Reads only;
// applying is apply.ts, landing it is land-loop.ts (the same concurrency rules as bump).
import { CONFIG_FILE } from "../../reconciler/config/load.js";
import type { SysconfigConfig } from "../../reconciler/config/schema.js";
import { sealedSecretsOf } from "../../reconciler/config/secrets-of.js";
import { InvalidInputError } from "../../reconciler/errors.js";
import { encryptTo, decryptWith } from "../../reconciler/secrets/age.js";
import { fingerprintOf } from "../../reconciler/secrets/fingerprint.js";
import type { Identities } from "../../reconciler/secrets/identity.js";
import { secretLabel } from "../../reconciler/secrets/sealed.js";
import { parsed, readText, renderChanges, type FileChange } from "./plan.js";
import { removeServiceSecret, setServiceSecret } from "./yaml-edit.js";

export interface SecretTarget {
  service: string;
  name: string;
  environment: string;
}

export interface SecretPlan {
  changes: FileChange[];
  /** Fingerprint of the new ciphertext (set), or of the removed one (rm). */
  fingerprints: string[];
  recipients: string[];
}

/** The config on the branch head, with the environment checked and its recipients. */
async function headConfig(
  dir: string,
  environment: string,
  verb: string,
): Promise<{ text: string; config: SysconfigConfig; recipients: string[] }> {
  const text = await readText(dir, CONFIG_FILE);
  const config = parsed(text, `${CONFIG_FILE} on ${environment}`);
  const env = Object.hasOwn(config.environments, environment) ? config.environments[environment] : undefined;
  if (!env) {
    throw new InvalidInputError(
      `environment '${environment}' ${verb} failed: it is not an environment of ${config.name} (sysconfig.yaml ` +
        `lists ${Object.keys(config.environments).join(", ")}). Pass --environment with one of those. Nothing was changed.`,
    );
  }
  return { text, config, recipients: env.secrets?.recipients ?? [] };
}

function knownService(config: SysconfigConfig, service: string, environment: string, verb: string): void {
  if (Object.hasOwn(config.services, service)) return;
  throw new InvalidInputError(
    `service '${service}' ${verb} failed: ${config.name} has no such service on ${environment}. Known services: ` +
      `${Object.keys(config.services).sort().join(", ")}. Nothing was changed.`,
  );
}

export async function planSecretSet(dir: string, target: SecretTarget, value: string): Promise<SecretPlan> {
  const { service, name, environment } = target;
  const { text, config, recipients } = await headConfig(dir, environment, "secret set");
  knownService(config, service, environment, "secret set");
  if (recipients.length === 0) {
    throw new InvalidInputError(
      `secret ${service}/${name} set failed: environment '${environment}' has no recipients to encrypt to. Add ` +
        `environments.${environment}.secrets.recipients: [age1…] to sysconfig.yaml (sysconfig keygen prints one; ` +
        `docs/secrets.md) and commit it. Nothing was changed.`,
    );
  }
  if (Object.hasOwn(config.services[service]?.env ?? {}, name)) {
    throw new InvalidInputError(
      `secret ${service}/${name} set failed: ${name} is a plain value in services.${service}.env. Remove it ` +
        `from env first (a value is either plain or secret), then set it as a secret. Nothing was changed.`,
    );
  }
  const ciphertext = await encryptTo(value, recipients);
  const newText = setServiceSecret(text, service, name, environment, { recipients, ciphertext });
  const changes = await withRendered(dir, text, newText, environment, [service]);
  return { changes, fingerprints: [fingerprintOf(ciphertext)], recipients };
}

export async function planSecretRemove(dir: string, target: SecretTarget): Promise<SecretPlan> {
  const { service, name, environment } = target;
  const { text, config } = await headConfig(dir, environment, "secret rm");
  knownService(config, service, environment, "secret rm");
  const sealed = sealedSecretsOf(config.services, environment).find(
    (s) => s.service === service && s.name === name,
  );
  if (!sealed) return { changes: [], fingerprints: [], recipients: [] };
  const newText = removeServiceSecret(text, service, name, environment);
  const changes = await withRendered(dir, text, newText, environment, [service]);
  return { changes, fingerprints: [sealed.fingerprint], recipients: [...sealed.recipients] };
}

/** Re-encrypts every secret of the environment whose recorded recipients differ from the environment's list. */
export async function planReencrypt(
  dir: string,
  environment: string,
  identities: Identities,
): Promise<SecretPlan & { reencrypted: string[] }> {
  const { text, config, recipients } = await headConfig(dir, environment, "secret reencrypt");
  if (recipients.length === 0) {
    throw new InvalidInputError(
      `secret reencrypt failed: environment '${environment}' has no recipients (environments.${environment}.` +
        `secrets.recipients). Add the new list first, then re-encrypt. Nothing was changed.`,
    );
  }
  const wanted = [...recipients].sort().join(",");
  const stale = sealedSecretsOf(config.services, environment).filter(
    (s) => [...s.recipients].sort().join(",") !== wanted,
  );
  let newText = text;
  const failed: string[] = [];
  for (const secret of stale) {
    let value: string;
    try {
      value = await decryptWith(secret.ciphertext, identities.identities);
    } catch {
      failed.push(`${secretLabel(secret)} (encrypted to ${secret.recipients.join(", ")})`);
      continue;
    }
    const ciphertext = await encryptTo(value, recipients);
    newText = setServiceSecret(newText, secret.service, secret.name, environment, { recipients, ciphertext });
  }
  if (failed.length > 0) {
    throw new InvalidInputError(
      `secret reencrypt failed: the identity in ${identities.file} (recipient ${identities.recipients.join(", ")}) ` +
        `cannot decrypt ${failed.join("; ")}. Use an identity of one of those recipients. Nothing was changed.`,
    );
  }
  const services = [...new Set(stale.map((s) => s.service))];
  const changes = newText === text ? [] : await withRendered(dir, text, newText, environment, services);
  return { changes, fingerprints: [], recipients, reencrypted: stale.map(secretLabel) };
}

/** sysconfig.yaml's change plus each service's re-rendered file. */
async function withRendered(
  dir: string,
  text: string,
  newText: string,
  environment: string,
  services: readonly string[],
): Promise<FileChange[]> {
  if (newText === text) return [];
  const config = parsed(newText, `${CONFIG_FILE} after the edit`);
  const changes: FileChange[] = [{ path: CONFIG_FILE, before: text, after: newText }];
  for (const service of services) {
    changes.push(...(await renderChanges(dir, config, environment, service, undefined)));
  }
  return changes;
}
