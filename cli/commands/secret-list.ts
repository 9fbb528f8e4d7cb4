// sysconfig secret list: every secret's name, environment, recipients and ciphertext fingerprint — never a
// value (nothing is decrypted). A secret whose recorded recipients differ from its environment's list is
// marked stale: run `sysconfig secret reencrypt` on that environment.
import { loadConfig } from "../../reconciler/config/load.js";
import { sealedSecretsOf } from "../../reconciler/config/secrets-of.js";
import type { CliIo } from "../io.js";

export interface SecretListOptions {
  repo: string;
  environment?: string;
  output: "text" | "json";
}

export async function runSecretList(options: SecretListOptions, io: CliIo): Promise<void> {
  const config = await loadConfig(options.repo);
  const environments =
    options.environment === undefined ? Object.keys(config.environments) : [options.environment];
  const rows = environments.flatMap((environment) => {
    const wanted = [...(config.environments[environment]?.secrets?.recipients ?? [])].sort().join(",");
    return sealedSecretsOf(config.services, environment).map((s) => ({
      service: s.service,
      name: s.name,
      environment,
      fingerprint: s.fingerprint,
      recipients: [...s.recipients],
      stale: [...s.recipients].sort().join(",") !== wanted,
    }));
  });
  if (options.output === "json") {
    io.out(JSON.stringify({ secrets: rows }));
    return;
  }
  if (rows.length === 0) {
    io.out(`no secrets in ${config.name}${options.environment ? ` for ${options.environment}` : ""}`);
    return;
  }
  const lines = rows.map(
    (r) =>
      `${r.service}/${r.name}  ${r.environment}  ${r.fingerprint}  ${r.recipients.join(",")}` +
      (r.stale ? "  stale: not encrypted to the environment's recipients (sysconfig secret reencrypt)" : ""),
  );
  io.out(lines.join("\n"));
}
