// A Secret sysconfig owns for a service's encrypted values. Its rendered form holds references
// (`stringData: {API_TOKEN: <secret age:…>}`); the desired manifest keeps only their fingerprints, in an
// annotation (so the hash, the plan and the live object hold fingerprints, never values), and apply adds
// the decrypted values as `data` at the last moment. Changing a value changes the fingerprint annotation
// here and the checksum annotation on the workload's pod template, which rolls it.
import { InvalidInputError } from "../../errors.js";
import { hasReference, referencedFingerprints } from "../../secrets/reference.js";
import type { SecretValues } from "../../secrets/open.js";

/** The part of a Kubernetes object this file reads (desired.ts's KubeObject has it; no import, no circle). */
interface KubeObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `API_TOKEN=age:0123456789abcdef,DB_PASSWORD=age:…`: which ciphertext each key was applied from. */
export const FINGERPRINTS_ANNOTATION = "sysconfig.io/secret-fingerprints";

/** A rendered Secret with references: references moved to the fingerprint annotation. Anything else as it is. */
export function sealSecretManifest<T extends KubeObject>(object: T, file: string): T {
  const values = object.kind === "Secret" ? secretValuesOf(object) : undefined;
  if (values === undefined || !Object.values(values).some(hasReference)) {
    refuseStrayReferences(object, file);
    return object;
  }
  const fingerprints = Object.entries(values).map(([key, value]) => {
    const found = referencedFingerprints(value);
    if (found.length !== 1 || value !== `<secret ${found[0]}>`) {
      throw new InvalidInputError(
        `${file}: Secret ${object.metadata.name} mixes encrypted references and plain values (${key}); a ` +
          `sysconfig-owned Secret holds only {{service.secrets}} references. Fix the template.`,
      );
    }
    return `${key}=${found[0]}`;
  });
  const sealed: T = { ...object, metadata: { ...object.metadata } };
  delete sealed.stringData;
  delete sealed.data;
  sealed.metadata.annotations = {
    ...object.metadata.annotations,
    [FINGERPRINTS_ANNOTATION]: fingerprints.join(","),
  };
  return sealed;
}

/** A Secret's values as text: stringData as written, data decoded (desired.ts folds stringData into data). */
function secretValuesOf(object: KubeObject): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const { data, stringData } = object;
  if (data !== null && typeof data === "object") {
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      out[k] = Buffer.from(String(v), "base64").toString("utf8");
    }
  }
  if (stringData !== null && typeof stringData === "object") {
    for (const [k, v] of Object.entries(stringData as Record<string, unknown>)) out[k] = String(v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A reference anywhere but a Secret's stringData would put a value in a spec the API shows to readers. */
function refuseStrayReferences(object: KubeObject, file: string): void {
  if (!hasReference(JSON.stringify(object))) return;
  throw new InvalidInputError(
    `${file}: ${object.kind} ${object.metadata.name} holds an encrypted secret reference outside a Secret's ` +
      `stringData; on Kubernetes a secret reaches a container through valueFrom.secretKeyRef (the built-in ` +
      `template does this; see docs/secrets.md). Fix the template.`,
  );
}

export function isSealedSecret(manifest: KubeObject): boolean {
  return manifest.kind === "Secret" && manifest.metadata.annotations?.[FINGERPRINTS_ANNOTATION] !== undefined;
}

/** The manifest apply sends: a sealed Secret gets `data` with the decrypted values (base64). */
export function withSecretData<T extends KubeObject>(
  manifest: T,
  secrets: SecretValues | undefined,
  subject: string,
): T {
  if (!isSealedSecret(manifest)) return manifest;
  if (secrets === undefined) {
    throw new InvalidInputError(
      `${subject}: its values were not decrypted (no identity); nothing was applied.`,
    );
  }
  const list = manifest.metadata.annotations?.[FINGERPRINTS_ANNOTATION] ?? "";
  const data: Record<string, string> = {};
  for (const entry of list.split(",").filter((e) => e !== "")) {
    const eq = entry.indexOf("=");
    data[entry.slice(0, eq)] = Buffer.from(secrets.valueOf(entry.slice(eq + 1)), "utf8").toString("base64");
  }
  return { ...manifest, data };
}
