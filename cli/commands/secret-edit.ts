// sysconfig secret set / rm / reencrypt: one edit of sysconfig.yaml (plus the re-rendered files), landed on
// the environment's branch exactly like a bump (cli/bump/land-loop.ts): same remote URL forms, same retries
// when the remote moves, so a secret set racing a bump both land.
import { InvalidInputError } from "../../reconciler/errors.js";
import { readIdentities } from "../../reconciler/secrets/identity.js";
import { unifiedDiff } from "../bump/diff.js";
import { landWithRetries, type Landed } from "../bump/land-loop.js";
import { redactedError } from "../bump/redacted-error.js";
import { planReencrypt, planSecretRemove, planSecretSet, type SecretPlan } from "../bump/secret-plan.js";
import { validateBranch, validateServiceName } from "../bump/validate.js";
import { createGitClient } from "../git/client.js";
import { DEFAULT_GIT_TIMEOUT_SECONDS } from "../git/network-git.js";
import { redactSecrets, secretsOf } from "../git/redact.js";
import { locateRepo } from "../git/repo-location.js";
import { openWorkspace } from "../git/workspace.js";
import type { CliIo } from "../io.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SecretEditOptions {
  repo: string;
  environment?: string;
  output: "text" | "json";
  dryRun?: boolean;
  maxAttempts: number;
  gitTimeout?: number;
}

export type SecretEdit =
  | { verb: "set"; service: string; name: string; value: string }
  | { verb: "rm"; service: string; name: string }
  | { verb: "reencrypt"; identityFile: string };

export async function runSecretEdit(options: SecretEditOptions, edit: SecretEdit, io: CliIo): Promise<void> {
  const secrets = secretsOf(options.repo);
  const redact = (text: string) => redactSecrets(text, secrets);
  try {
    if (edit.verb !== "reencrypt") {
      validateServiceName(edit.service);
      if (!ENV_NAME.test(edit.name)) {
        throw new InvalidInputError(
          `secret name ${JSON.stringify(edit.name)} is not an environment variable name (letters, digits and ` +
            `'_', not starting with a digit): the secret becomes the container's variable of that name. Nothing was changed.`,
        );
      }
    }
    const identities = edit.verb === "reencrypt" ? await readIdentities(edit.identityFile) : undefined;
    const git = createGitClient(io.env, io.isTTY, secrets, {
      timeoutSeconds: options.gitTimeout ?? DEFAULT_GIT_TIMEOUT_SECONDS,
    });
    const location = await locateRepo(options.repo, io.cwd, async (dir) => {
      const bare = await git.run(["rev-parse", "--is-bare-repository"], dir).catch(() => undefined);
      return bare === undefined ? undefined : bare.trim() === "true";
    });
    let environment = options.environment;
    if (environment === undefined && location.kind === "checkout") {
      environment = (
        await git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], location.dir).catch(() => "")
      ).trim();
    }
    if (!environment) {
      throw new InvalidInputError(
        `secret ${edit.verb} failed: which environment? Pass --environment ENV (the config repo's branch); it is ` +
          `only implied for a local checkout, by its checked-out branch. Nothing was changed.`,
      );
    }
    validateBranch(environment, "--environment");
    const env = environment;
    const workspace = await openWorkspace(location, {
      branch: env,
      readOnly: options.dryRun === true,
      git,
      reporter: io.reporter,
      shownUrl: redact(options.repo),
      attempts: options.maxAttempts,
    });
    let landed: Landed<SecretPlan & { reencrypted?: string[] }>;
    const subject =
      edit.verb === "reencrypt" ? `secret reencrypt on ${env}` : `secret ${edit.service}/${edit.name}`;
    try {
      landed = await landWithRetries(
        workspace,
        {
          subject,
          branch: env,
          message: commitMessage(edit, env),
          words: {
            again: `run secret ${edit.verb} again`,
            changes: "Its changes",
            rerun: `Run secret ${edit.verb} again`,
          },
          plan: (dir) =>
            edit.verb === "set"
              ? planSecretSet(dir, { service: edit.service, name: edit.name, environment: env }, edit.value)
              : edit.verb === "rm"
                ? planSecretRemove(dir, { service: edit.service, name: edit.name, environment: env })
                : planReencrypt(dir, env, identities ?? { file: "", identities: [], recipients: [] }),
        },
        { dryRun: options.dryRun === true, maxAttempts: options.maxAttempts, reporter: io.reporter },
      );
    } finally {
      await workspace.dispose();
    }
    const { plan } = landed;
    const changed = plan.changes.length > 0;
    if (options.output === "json") {
      io.out(
        JSON.stringify({
          verb: edit.verb,
          environment: env,
          ...(edit.verb === "reencrypt"
            ? { reencrypted: plan.reencrypted ?? [] }
            : { service: edit.service, name: edit.name }),
          fingerprints: plan.fingerprints,
          recipients: plan.recipients,
          changed,
          commit: landed.commit,
          pushed: landed.pushed,
          attempts: landed.attempts,
          files: plan.changes.map((c) => c.path),
          dryRun: options.dryRun === true,
        }),
      );
      return;
    }
    const where = landed.pushed
      ? `pushed to ${redact(options.repo)} (attempt ${landed.attempts})`
      : options.dryRun
        ? "dry run: nothing committed"
        : "committed locally (the branch has no upstream to push to)";
    const what =
      edit.verb === "set"
        ? `secret ${edit.service}/${edit.name} on ${env}: encrypted to ${plan.recipients.length} recipient(s) as ${plan.fingerprints[0] ?? ""}`
        : edit.verb === "rm"
          ? changed
            ? `secret ${edit.service}/${edit.name} removed from ${env}`
            : `secret ${edit.service}/${edit.name} has no value on ${env}: nothing to do`
          : changed
            ? `re-encrypted ${plan.reencrypted?.join(", ")} on ${env} to ${plan.recipients.length} recipient(s)`
            : `every secret on ${env} is already encrypted to its recipients: nothing to do`;
    // The diff shows sysconfig.yaml's ciphertext and the rendered references: neither is a value.
    io.out(
      `${changed ? unifiedDiff(plan.changes) : ""}${what}${changed ? `: ${landed.commit?.slice(0, 12) ?? ""} ${where}` : ""}`,
    );
  } catch (error) {
    throw redactedError(error, redact);
  }
}

function commitMessage(edit: SecretEdit, environment: string): string {
  if (edit.verb === "reencrypt") {
    return `Re-encrypting secrets on ${environment} to its recipients\n\nSysconfig-Environment: ${environment}\n`;
  }
  const verb = edit.verb === "set" ? "Setting" : "Removing";
  return (
    `${verb} secret ${edit.service}/${edit.name} on ${environment}\n\n` +
    `Sysconfig-Service: ${edit.service}\nSysconfig-Secret: ${edit.name}\nSysconfig-Environment: ${environment}\n`
  );
}
