// Declares `sysconfig secret set|list|rm|reencrypt` and `sysconfig keygen` (docs/secrets.md); the work is in
// secret-edit.ts, secret-list.ts and keygen.ts.
import { Command, Option } from "commander";
import { InvalidInputError } from "../../reconciler/errors.js";
import { DEFAULT_GIT_TIMEOUT_SECONDS } from "../git/network-git.js";
import type { CliIo } from "../io.js";
import { seconds, wholeNumber } from "../number-flags.js";

const MAX_SECRET_BYTES = 64 * 1024;

/** The value from stdin, never from an argument (shell history, ps, CI logs); one trailing newline dropped. */
async function readValue(stdin: NodeJS.ReadableStream & { isTTY?: boolean }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_SECRET_BYTES) {
      throw new InvalidInputError(
        `secret set failed: the value on stdin is larger than ${MAX_SECRET_BYTES} bytes; a secret is a ` +
          `password or a key, not a file. Nothing was changed.`,
      );
    }
    chunks.push(buffer);
  }
  const value = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (value === "") {
    throw new InvalidInputError(
      `secret set failed: no value on stdin. Pipe it in, e.g. 'printf %s "$DB_PASSWORD" | sysconfig secret set ` +
        `web DB_PASSWORD' (never as an argument: shell history and ps show arguments). Nothing was changed.`,
    );
  }
  return value;
}

function editOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--repo <path|url>", "config repo: a path or git URL (default: the current directory)"),
    )
    .option("--environment <branch>", "environment (branch) to edit (default: a local checkout's branch)")
    .addOption(
      new Option("--max-attempts <n>", "push attempts when the remote moves")
        .argParser(wholeNumber({ min: 1, max: 100, unit: "attempts", zeroHint: "pass 1 to push once" }))
        .default(16),
    )
    .addOption(
      new Option("--git-timeout <seconds>", "give up when the remote sends nothing for this long")
        .argParser(seconds("omit the flag for the default"))
        .default(DEFAULT_GIT_TIMEOUT_SECONDS),
    )
    .addOption(new Option("--output <format>", "text or json").choices(["text", "json"]).default("text"));
}

export function addSecretCommands(
  program: Command,
  io: () => CliIo,
  localRepo: (repo: string | undefined, command: string) => Promise<string>,
): void {
  const secret = program
    .command("secret")
    .description("age-encrypted values in the config repo (docs/secrets.md)");
  const common = (o: Record<string, unknown>) => ({
    repo: (o.repo as string | undefined) ?? io().cwd,
    environment: o.environment as string | undefined,
    output: o.output as "text" | "json",
    dryRun: o.dryRun === true,
    maxAttempts: o.maxAttempts as number,
    gitTimeout: o.gitTimeout as number,
  });
  editOptions(
    secret
      .command("set")
      .description("encrypt the value on stdin to the environment's recipients; commit and push like bump")
      .argument("<service>", "service name as in sysconfig.yaml")
      .argument("<name>", "environment variable the container gets"),
  )
    .option("--dry-run", "show the change, commit nothing")
    .addHelpText(
      "after",
      '\nExamples:\n  $ printf %s "$DB_PASSWORD" | sysconfig secret set web DB_PASSWORD --environment master\n' +
        "  $ sysconfig secret set web API_TOKEN --repo git@git.example.com:acme/sysconfig.git --environment develop < token.txt\n\n" +
        "The value is read from stdin only (one trailing newline dropped), never from an argument.",
    )
    .action(async (service: string, name: string, o: Record<string, unknown>) => {
      const value = await readValue(process.stdin);
      await (
        await import("./secret-edit.js")
      ).runSecretEdit(common(o), { verb: "set", service, name, value }, io());
    });
  editOptions(
    secret
      .command("rm")
      .description("remove a secret's value for the environment; commit and push like bump")
      .argument("<service>", "service name")
      .argument("<name>", "secret name"),
  )
    .addHelpText("after", "\nExample:\n  $ sysconfig secret rm web API_TOKEN --environment develop")
    .action(async (service: string, name: string, o: Record<string, unknown>) =>
      (await import("./secret-edit.js")).runSecretEdit(common(o), { verb: "rm", service, name }, io()),
    );
  editOptions(
    secret
      .command("reencrypt")
      .description(
        "after the recipients changed: decrypt with --identity-file, encrypt to the new list, commit, push",
      )
      .requiredOption("--identity-file <file>", "an identity that can decrypt the current values"),
  )
    .addHelpText(
      "after",
      "\nExample:\n  $ sysconfig secret reencrypt --environment master --identity-file ~/.config/sysconfig/master.key",
    )
    .action(async (o: Record<string, unknown>) =>
      (await import("./secret-edit.js")).runSecretEdit(
        common(o),
        { verb: "reencrypt", identityFile: o.identityFile as string },
        io(),
      ),
    );
  secret
    .command("list")
    .description("names, environments, recipients and ciphertext fingerprints; never values")
    .addOption(new Option("--repo <path>", "config repo checkout (default: the current directory)"))
    .option("--environment <branch>", "only this environment (default: all)")
    .addOption(new Option("--output <format>", "text or json").choices(["text", "json"]).default("text"))
    .addHelpText("after", "\nExample:\n  $ sysconfig secret list --environment master")
    .action(async (o: Record<string, unknown>) =>
      (await import("./secret-list.js")).runSecretList(
        {
          repo: await localRepo(o.repo as string | undefined, "secret list"),
          environment: o.environment as string | undefined,
          output: o.output as "text" | "json",
        },
        io(),
      ),
    );
  program
    .command("keygen")
    .description("write a new age identity (mode 0600) and print its recipient")
    .argument("<file>", "where to write the identity (must not exist)")
    .addOption(new Option("--output <format>", "text or json").choices(["text", "json"]).default("text"))
    .addHelpText(
      "after",
      "\nExample:\n  $ sysconfig keygen master.key   # prints age1…; add it to environments.master.secrets.recipients",
    )
    .action(async (file: string, o: Record<string, unknown>) =>
      (await import("./keygen.js")).runKeygen({ file, output: o.output as "text" | "json" }, io()),
    );
}
