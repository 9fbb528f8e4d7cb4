// The encrypted values of one environment, as the reconciler and the secret commands see them.
import { fingerprintOf } from "../secrets/fingerprint.js";
import type { SealedSecret } from "../secrets/sealed.js";
import type { ServiceConfig } from "./schema.js";

/** Every secret of these services that has a value for `environment`, sorted by service then name. */
export function sealedSecretsOf(
  services: Readonly<Record<string, ServiceConfig>>,
  environment: string,
): SealedSecret[] {
  const out: SealedSecret[] = [];
  for (const service of Object.keys(services).sort()) {
    const secrets = services[service]?.secrets ?? {};
    for (const name of Object.keys(secrets).sort()) {
      const value = Object.hasOwn(secrets[name] ?? {}, environment)
        ? secrets[name]?.[environment]
        : undefined;
      if (value === undefined) continue;
      out.push({
        service,
        name,
        environment,
        recipients: value.recipients,
        ciphertext: value.ciphertext,
        fingerprint: fingerprintOf(value.ciphertext),
      });
    }
  }
  return out;
}
