// How a container's secret env values are remembered without being printable. The spec label holds a
// bare `<secret>` for each; a second label holds salted HMACs, so the next run can tell, for the plan
// diff only, whether a secret changed, and show it with this run's fingerprint (text/mask.ts) either way.
import { createHmac, randomBytes } from "node:crypto";
import { parse, stringify } from "yaml";
import { hasReference } from "../../secrets/reference.js";
import { isMasked, isSecretName, maskValue } from "../../text/mask.js";
import type { ContainerSpec } from "./container-spec.js";

/** What the spec label shows for a secret value. */
export const SECRET_PLACEHOLDER = "<secret>";

interface Fingerprints {
  salt: string;
  /** env name → HMAC-SHA256(salt, value), hex. */
  env: Record<string, string>;
}

const digest = (salt: string, value: string) => createHmac("sha256", salt).update(value).digest("hex");

/** The label value for a container about to be created: a fresh salt and one digest per secret. */
export function secretFingerprints(spec: ContainerSpec): string | undefined {
  const names = Object.keys(spec.env).filter(isSecretName);
  if (names.length === 0) return undefined;
  const salt = randomBytes(16).toString("hex");
  const env = Object.fromEntries(names.map((n) => [n, digest(salt, spec.env[n] ?? "")]));
  return JSON.stringify({ salt, env } satisfies Fingerprints);
}

function parseFingerprints(label: string | undefined): Fingerprints | undefined {
  if (label === undefined) return undefined;
  try {
    const parsed = JSON.parse(label) as Partial<Fingerprints>;
    return typeof parsed.salt === "string" && typeof parsed.env === "object" && parsed.env !== null
      ? { salt: parsed.salt, env: parsed.env }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The live side of a plan diff from the spec label: each secret shows the desired side's fingerprint
 * when its value is unchanged, a different one when it changed, and a bare `<secret>` when that cannot
 * be known (no desired value, or a container from an older sysconfig, whose unkeyed hashes are dropped).
 */
export function liveSpecText(
  specLabel: string,
  fingerprintLabel: string | undefined,
  desired: ContainerSpec | undefined,
): string {
  let shown: unknown;
  try {
    shown = parse(specLabel);
  } catch {
    return specLabel;
  }
  if (typeof shown !== "object" || shown === null || !("env" in shown)) return specLabel;
  const env = (shown as { env?: unknown }).env;
  if (typeof env !== "object" || env === null) return specLabel;
  const fingerprints = parseFingerprints(fingerprintLabel);
  const liveEnv = env as Record<string, unknown>;
  for (const [name, value] of Object.entries(liveEnv)) {
    // A reference to an encrypted value is its ciphertext's fingerprint: shown as applied, so a plan without
    // the identity tells a changed secret (a new fingerprint) from an unchanged one.
    if (typeof value !== "string" || !isMasked(value) || hasReference(value)) continue;
    const stored = fingerprints?.env[name];
    const wanted = desired?.env[name];
    if (stored === undefined || fingerprints === undefined || wanted === undefined) {
      liveEnv[name] = SECRET_PLACEHOLDER;
    } else if (digest(fingerprints.salt, wanted) === stored) {
      liveEnv[name] = maskValue(wanted);
    } else {
      liveEnv[name] = maskValue(`previous value\0${stored}`);
    }
  }
  return stringify(shown, { lineWidth: 0 });
}
