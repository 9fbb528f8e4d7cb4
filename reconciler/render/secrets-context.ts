// What templates see of a service's secrets: references, never values (docs/secrets.md).
import type { ServiceConfig } from "../config/schema.js";
import { fingerprintOf } from "../secrets/fingerprint.js";
import { referenceOf } from "../secrets/reference.js";
import { nodeCrypto } from "../text/lazy-crypto.js";

export interface SecretsContext {
  /** This environment's secrets, by name: `ref` is `<secret age:…>`, which the target resolves at apply. */
  secrets: { name: string; ref: string; fingerprint: string }[];
  hasSecrets: boolean;
  /** The Kubernetes Secret sysconfig owns for this service. */
  secretName: string;
  /** Changes whenever any secret's ciphertext changes: a pod-template annotation that rolls the workload. */
  secretsChecksum: string;
}

/** The SHA-256 of no text: the checksum of a service without secrets (most of them), without hashing. */
export const NO_SECRETS_CHECKSUM = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export function secretsContext(
  serviceName: string,
  service: ServiceConfig,
  environment: string,
): SecretsContext {
  const secrets = Object.keys(service.secrets)
    .sort()
    .flatMap((name) => {
      const values = service.secrets[name] ?? {};
      const value = Object.hasOwn(values, environment) ? values[environment] : undefined;
      if (value === undefined) return [];
      const fingerprint = fingerprintOf(value.ciphertext);
      return [{ name, ref: referenceOf(fingerprint), fingerprint }];
    });
  const checksum =
    secrets.length === 0
      ? NO_SECRETS_CHECKSUM
      : nodeCrypto()
          .createHash("sha256")
          .update(secrets.map((s) => `${s.name}=${s.fingerprint}\n`).join(""))
          .digest("hex");
  return {
    secrets,
    hasSecrets: secrets.length > 0,
    secretName: `${serviceName}-secrets`,
    secretsChecksum: `sha256:${checksum.slice(0, 16)}`,
  };
}
