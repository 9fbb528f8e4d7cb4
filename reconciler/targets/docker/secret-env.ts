// Encrypted secrets reach a container as env values at create, and nowhere else: the spec keeps each
// `<secret age:…>` reference (so its hash and labels hold fingerprints only) and the create body gets the
// decrypted value. `docker inspect` shows env to whoever can reach the engine, as for any env value.
import type { SecretValues } from "../../secrets/open.js";
import type { ContainerSpec } from "./container-spec.js";

/** The spec with every referenced env value decrypted (a copy; the spec itself is left as it is). */
export function resolveSecretEnv(spec: ContainerSpec, secrets: SecretValues): ContainerSpec {
  const env = Object.fromEntries(
    Object.entries(spec.env).map(([name, value]) => [name, secrets.resolve(value)]),
  );
  return { ...spec, env };
}
