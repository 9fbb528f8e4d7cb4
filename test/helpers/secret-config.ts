// sysconfig.yaml fragments with encrypted values, for the target tests: the ciphertext comes from the real
// `age` CLI (`age -r … -a`), so every target test also proves sysconfig decrypts the reference tool's output.
import { ageCli } from "./age-cli.js";

/** One ciphertext per recipient and value: the same value in a later config keeps its fingerprint. */
const encrypted = new Map<string, string>();

/** `secrets:` for one service: NAME → { <environment>: { recipients, ciphertext } }, indented for a service. */
export function secretsYaml(environment: string, recipient: string, values: Record<string, string>): string {
  const lines = ["    secrets:"];
  for (const [name, value] of Object.entries(values)) {
    const memo = `${recipient}\0${value}`;
    const ciphertext = encrypted.get(memo) ?? ageCli("age", ["-r", recipient, "-a"], value);
    encrypted.set(memo, ciphertext);
    lines.push(
      `      ${name}:`,
      `        ${environment}:`,
      `          recipients: [${recipient}]`,
      "          ciphertext: |",
      ...ciphertext
        .trimEnd()
        .split("\n")
        .map((l) => `            ${l}`),
    );
  }
  return `${lines.join("\n")}\n`;
}
