// Encrypted secrets on fleet. fleet keeps unit files in etcd and shows them through its API, so a value in a
// unit is readable by whoever can read fleet's API or etcd (docs/secrets.md). The least exposed place is an
// `Environment="NAME=…"` line that `docker run -e NAME` reads (ps shows the ExecStart line, not the
// environment): a secret reference anywhere else is refused. The unit sysconfig compares, hashes and shows
// keeps the references; only the unit PUT to fleet holds the values, and its marker records the fingerprints
// so the live unit reads back as references.
import { InvalidInputError } from "../../errors.js";
import type { SecretValues } from "../../secrets/open.js";
import { hasReference, referenceOf } from "../../secrets/reference.js";
import type { UnitOption } from "./unit-file.js";

/** `Environment="NAME=<secret age:…>"` (quoted or not): the only place a reference may be. */
const SECRET_ENVIRONMENT = /^("?)([A-Za-z_][A-Za-z0-9_]*)=<secret (age:[0-9a-f]{16})>\1$/;
const ASSIGNMENT = /^("?)([A-Za-z_][A-Za-z0-9_]*)=/;

/** `NAME=age:…` for each secret Environment= line; exit 3 for a reference anywhere else. */
export function secretFingerprints(options: readonly UnitOption[], file: string): string[] {
  const out: string[] = [];
  for (const option of options) {
    if (!hasReference(option.value)) continue;
    const match =
      option.section === "Service" && option.name === "Environment"
        ? SECRET_ENVIRONMENT.exec(option.value)
        : null;
    if (!match) {
      throw new InvalidInputError(
        `${file}: [${option.section}] ${option.name}= holds an encrypted secret reference; on fleet a secret may ` +
          `only be an Environment="NAME=…" line of its own, passed to the container as 'docker run -e NAME' ` +
          `(on ExecStart= the value would show in ps and in fleet's unit). Use the built-in template's pattern ` +
          `(docs/secrets.md) and re-render.`,
      );
    }
    out.push(`${match[2]}=${match[3]}`);
  }
  return out;
}

/** systemd's Environment= quoting: backslash, quote, `%` (specifiers) and control characters escaped. */
function environmentValue(name: string, value: string): string {
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/%/g, "%%")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t");
  return `"${name}=${escaped}"`;
}

/** The options PUT to fleet: each secret Environment= line with its decrypted value. */
export function resolveSecretOptions(options: readonly UnitOption[], secrets: SecretValues): UnitOption[] {
  return options.map((option) => {
    const match = option.name === "Environment" ? SECRET_ENVIRONMENT.exec(option.value) : null;
    if (!match) return option;
    return { ...option, value: environmentValue(match[2] ?? "", secrets.valueOf(match[3] ?? "")) };
  });
}

/** A live unit read back: the Environment= lines the marker lists as secrets show their references again. */
export function hideSecretOptions(
  options: readonly UnitOption[],
  fingerprints: readonly string[],
): UnitOption[] {
  if (fingerprints.length === 0) return [...options];
  const byName = new Map(fingerprints.map((f) => [f.slice(0, f.indexOf("=")), f.slice(f.indexOf("=") + 1)]));
  return options.map((option) => {
    if (option.section !== "Service" || option.name !== "Environment") return option;
    const name = ASSIGNMENT.exec(option.value)?.[2];
    const fingerprint = name === undefined ? undefined : byName.get(name);
    if (fingerprint === undefined) return option;
    return { ...option, value: `"${name}=${referenceOf(fingerprint)}"` };
  });
}
