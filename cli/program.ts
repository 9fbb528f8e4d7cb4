// Declares the commands and their flags; each command's work lives in cli/commands/<name>.ts.
// Command modules load only when their command runs: build alone pulls in dockerode (~0.2 s of startup).
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { BAKED_CONFIG_DIR } from "../reconciler/desired/build-info.js";
import { InvalidInputError } from "../reconciler/errors.js";
import { projectRoot } from "../reconciler/render/templates.js";
import { DEFAULT_LOCK_TIMEOUT_SECONDS } from "../reconciler/targets/lock-wait.js";
import { booleanWord } from "./boolean-word.js";
import { refuseIgnoredFlags } from "./flag-rules.js";
import { DEFAULT_CHECKOUT_LOCK_SECONDS } from "./git/checkout-lock.js";
import { DEFAULT_GIT_TIMEOUT_SECONDS } from "./git/network-git.js";
import { seconds, wholeNumber } from "./number-flags.js";
import type { ApplyFlags } from "./commands/apply-request.js";
import { terminalSafe, type CliIo } from "./io.js";
import { resolveLocalRepo } from "./repo.js";
import { addSecretCommands } from "./commands/secret-program.js";
import { standardStreams } from "./std-streams.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(`${projectRoot()}/package.json`, "utf8")) as { version: string };
  return pkg.version;
}

const gitTimeoutOption = (what: string) =>
  new Option("--git-timeout <seconds>", `give up on ${what} when the remote sends nothing for this long`)
    .argParser(seconds("a remote cannot answer in no time; omit the flag for the default"))
    .default(DEFAULT_GIT_TIMEOUT_SECONDS);

const outputOption = () =>
  new Option("--output <format>", "text or json").choices(["text", "json"]).default("text");
const repoDefault = `default: the current directory; ${BAKED_CONFIG_DIR} in the config image`;

/** Every flag can also be set as SYSCONFIG_<FLAG> (CI systems pass settings that way); shown in --help. */
/** The kubernetes target reads --context and --force-conflicts from their SYSCONFIG_* variables. */
function withKubernetesFlags<T extends { env: NodeJS.ProcessEnv }>(base: T, o: Record<string, unknown>): T {
  const env = { ...base.env };
  if (typeof o.context === "string") env.SYSCONFIG_CONTEXT = o.context;
  if (o.forceConflicts === true) env.SYSCONFIG_FORCE_CONFLICTS = "1";
  return { ...base, env };
}

/** --identity-file reaches the pipeline as SYSCONFIG_IDENTITY_FILE (reconciler/desired/secrets.ts). */
function withIdentityFile<T extends { env: NodeJS.ProcessEnv }>(base: T, o: Record<string, unknown>): T {
  return typeof o.identityFile === "string"
    ? { ...base, env: { ...base.env, SYSCONFIG_IDENTITY_FILE: o.identityFile } }
    : base;
}
const identityFileHelp = "age identity that decrypts the environment's secrets at apply (docs/secrets.md)";

function nameEnvironment(command: Command): void {
  for (const option of command.options) {
    if (
      option.envVar === undefined &&
      option.long &&
      option.long !== "--help" &&
      option.long !== "--version"
    ) {
      const name = option.long
        .replace(/^--(no-)?/, "")
        .replace(/-/g, "_")
        .toUpperCase();
      // Set after addOption, so commander registers no env handler of its own: applyEnvironment reads them.
      option.env(`SYSCONFIG_${name}`);
    }
  }
  for (const sub of command.commands) nameEnvironment(sub);
}

/**
 * Fills options not given on the command line from their SYSCONFIG_<FLAG> variables. Commander would treat any
 * value of a boolean's variable as "on" (SYSCONFIG_FORCE=false forcing), so booleans are parsed here: 1/true/yes,
 * 0/false/no, empty = unset, anything else is invalid input. For --no-X the variable is SYSCONFIG_X: 0 means --no-X.
 */
function applyEnvironment(
  command: Command,
  env: NodeJS.ProcessEnv,
  onEnvValue: (flag: string, variable: string) => void,
): void {
  const lineage: Command[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) lineage.unshift(c);
  for (const cmd of lineage) {
    for (const option of cmd.options) {
      const variable = option.envVar;
      const raw = variable === undefined ? undefined : env[variable];
      if (variable === undefined || raw === undefined || raw === "") continue;
      const key = option.attributeName();
      if (cmd.getOptionValueSource(key) === "cli") continue; // an explicit flag wins
      const invalid = (expected: string) =>
        new InvalidInputError(
          `${variable}=${JSON.stringify(raw)} failed: not a valid value for ${option.flags} (${expected}). ` +
            `Fix or unset ${variable}. Nothing was changed.`,
        );
      if (!option.required && !option.optional) {
        const on = booleanWord(raw);
        if (on === undefined) {
          throw invalid("expected 1, true or yes to turn it on, 0, false or no to turn it off, any case");
        }
        cmd.setOptionValueWithSource(key, on, "env");
        onEnvValue(option.long ?? key, variable);
        continue;
      }
      let value: unknown = raw;
      if (option.parseArg) {
        try {
          value = option.parseArg(raw, cmd.getOptionValue(key) as unknown);
        } catch (error) {
          throw invalid(error instanceof Error ? error.message : String(error));
        }
      }
      cmd.setOptionValueWithSource(key, value, "env");
      onEnvValue(option.long ?? key, variable);
    }
  }
}

/** Where --target and --endpoint came from: the flag, or its SYSCONFIG_* variable (errors name it). */
function sources(command: Command): { targetSource: string; endpointSource: string } {
  const from = (key: string, flag: string) =>
    command.getOptionValueSource(key) === "env"
      ? (command.options.find((o) => o.attributeName() === key)?.envVar ?? flag)
      : flag;
  return { targetSource: from("target", "--target"), endpointSource: from("endpoint", "--endpoint") };
}

/** The flags plan, reconcile and serve share (commands/apply-request.ts), read in one place. */
function applyFlagsOf(o: Record<string, unknown>, cmd: Command, repo: string): ApplyFlags {
  return {
    repo,
    environment: o.environment as string | undefined,
    target: o.target as "fleet" | "docker" | "kubernetes" | undefined,
    endpoint: o.endpoint as string | undefined,
    maxDelete: o.maxDelete as number | undefined,
    allowMassDelete: o.allowMassDelete === true,
    // plan has no --timeout; reconcile and serve default it to 300.
    timeout: (o.timeout as number | undefined) ?? 300,
    wait: o.wait !== false,
    waitLock: o.waitLock === true,
    lockTimeout: o.lockTimeout as number | undefined,
    parallelism: o.parallelism as number | undefined,
    requestTimeout: o.requestTimeout as number | undefined,
    ...sources(cmd),
  };
}

/** --request-timeout, for reconcile, plan and serve. */
function requestTimeoutOption(): Option {
  return new Option(
    "--request-timeout <seconds>",
    "give up on one request to the target without an answer after this long, never sending it again " +
      "(default: 30 for the fleet API, the Docker engine and the Kubernetes API, 20 for each SSH hop's " +
      "handshake, 15 for an SSH channel)",
  ).argParser(seconds("a target cannot answer in no time; omit the flag for the defaults"));
}

/**
 * How to apply and wait, shared by reconcile and serve. A held lock makes reconcile exit 4 and makes
 * serve's run fail (the next one tries again); the help says which.
 */
function applyOptions(command: Command, held: "exit" | "skip"): Command {
  const exit = held === "exit";
  return command
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for health")
        .argParser(seconds("pass --no-wait to not wait for health"))
        .default(300),
    )
    .option(
      "--no-wait",
      exit
        ? "do not wait for changed objects to become healthy (rolls still confirm each instance)"
        : "do not wait for changed objects to become healthy",
    )
    .option(
      "--wait-lock",
      exit
        ? "wait for another reconciler's lock instead of exiting 4"
        : "wait for another reconciler's lock instead of failing the run",
    )
    .addOption(
      new Option(
        "--lock-timeout <seconds>",
        exit
          ? "with --wait-lock: give up (exit 4) after this long"
          : "with --wait-lock: give up after this long",
      )
        .argParser(
          seconds(
            exit
              ? "omit --wait-lock to exit 4 at once when the lock is held"
              : "omit --wait-lock to skip a run while the lock is held",
          ),
        )
        .default(DEFAULT_LOCK_TIMEOUT_SECONDS),
    )
    .addOption(
      new Option("--parallelism <n>", "most changes applied at once within a dependency level")
        .argParser(
          wholeNumber({
            min: 1,
            max: 256,
            unit: "changes",
            zeroHint: "pass 1 to apply one change at a time",
          }),
        )
        .default(8),
    );
}

/** Builds the program. `io` carries stdout/stderr; `run` records the promise of the chosen command. */
export function buildProgram(
  io: () => CliIo,
  env: NodeJS.ProcessEnv = process.env,
  /** Told of each flag whose value came from its SYSCONFIG_* variable, so errors can name the variable. */
  onEnvValue: (flag: string, variable: string) => void = () => undefined,
): Command {
  const program = new Command("sysconfig")
    .description("GitOps for container services: bump tags, bake config images, reconcile clusters.")
    .version(version(), "-V, --version")
    .option("--verbose", "more detail on stderr")
    .showHelpAfterError()
    // Usage errors quote the command line: its control characters are shown, never sent to the terminal.
    // A closed stdout or stderr (`sysconfig --help | head -1`) drops the text instead of crashing (std-streams.ts).
    .configureOutput({
      writeOut: (text) => standardStreams().out.write(text),
      writeErr: (text) => standardStreams().err.write(terminalSafe(text)),
    })
    .exitOverride()
    .hook("preAction", (_program, actionCommand) => {
      applyEnvironment(actionCommand, env, onEnvValue);
      refuseIgnoredFlags(actionCommand);
    });

  const repoOption = () =>
    new Option("--repo <path>", `config repo: the top directory of a local checkout (${repoDefault})`);
  /** --repo for commands that need a local directory; a git URL is only accepted by bump. */
  const localRepo = (repo: string | undefined, command: string) => resolveLocalRepo(repo, io().cwd, command);

  program
    .command("init")
    .description("scaffold a config repo from the example, one branch per environment")
    .argument("[dir]", "directory to create", "sysconfig")
    .addHelpText(
      "after",
      "\nExample:\n  $ sysconfig init acme-sysconfig && cd acme-sysconfig && sysconfig validate",
    )
    .action(async (dir: string) => (await import("./commands/init.js")).runInit({ dir }, io()));

  program
    .command("validate")
    .description("check sysconfig.yaml, every template and every rendered file; changes nothing")
    .addOption(repoOption())
    .option("--environment <branch>", "environment to check rendered/ for (default: current branch)")
    .addHelpText("after", "\nExample:\n  $ sysconfig validate --repo ./acme-sysconfig")
    .action(async (o: { repo?: string; environment?: string }) =>
      (await import("./commands/validate.js")).runValidate(
        { repo: await localRepo(o.repo, "validate"), environment: o.environment },
        io(),
      ),
    );

  program
    .command("rbac")
    .description("print the least-privilege Kubernetes Role for the kinds an environment renders")
    .addOption(repoOption())
    .option("--environment <branch>", "the Kubernetes environment (default: current branch)")
    .option(
      "--service-account <name>",
      "the reconciler's ServiceAccount, in the target namespace",
      "sysconfig",
    )
    .addHelpText("after", "\nExample:\n  $ sysconfig rbac --environment master | kubectl apply -f -")
    .action(async (o: { repo?: string; environment?: string; serviceAccount: string }) =>
      (await import("./commands/rbac.js")).runRbac(
        {
          repo: await localRepo(o.repo, "rbac"),
          environment: o.environment,
          serviceAccount: o.serviceAccount,
        },
        io(),
      ),
    );

  program
    .command("render")
    .description("re-render every service into rendered/; --check fails with a diff if it is stale")
    .addOption(repoOption())
    .option("--environment <branch>", "environment to render for (default: current branch)")
    .option("--check", "change nothing; exit 3 with a diff if rendered/ is stale")
    .option(
      "--any-branch",
      "render --environment even on another environment's branch (replacing its rendered/)",
    )
    .addOption(
      new Option(
        "--lock-timeout <seconds>",
        "wait this long for a bump writing in the same checkout to finish, then exit 4",
      )
        .argParser(seconds("render waits for a bump in the same checkout; omit the flag for the default"))
        .default(DEFAULT_CHECKOUT_LOCK_SECONDS),
    )
    .addHelpText("after", "\nExamples:\n  $ sysconfig render\n  $ sysconfig render --check   # in CI")
    .action(
      async (o: {
        repo?: string;
        environment?: string;
        check?: boolean;
        anyBranch?: boolean;
        lockTimeout?: number;
      }) =>
        (await import("./commands/render.js")).runRender(
          {
            repo: await localRepo(o.repo, "render"),
            environment: o.environment,
            check: o.check,
            anyBranch: o.anyBranch,
            lockTimeout: o.lockTimeout,
          },
          io(),
        ),
    );

  program
    .command("bump")
    .description("render SERVICE with TAG, commit and push it to the config repo")
    .argument("<service>", "service name as in sysconfig.yaml")
    .argument("<tag>", "image tag <build_num>-<branch>, e.g. 58-develop")
    .addOption(new Option("--repo <path|url>", `config repo: a path or git URL (${repoDefault})`))
    .option("--branch <branch>", "config-repo branch to bump (default: the tag's branch part)")
    .option("--template <file>", "the service's own template, from the service's repo")
    .option("--force", "allow a lower build number (a deliberate rollback)")
    .option("--dry-run", "print the rendered diff, commit nothing")
    .addOption(
      new Option("--max-attempts <n>", "push attempts when the remote moves")
        .argParser(
          wholeNumber({
            min: 1,
            max: 100,
            unit: "attempts",
            zeroHint: "pass 1 to push once and never retry",
          }),
        )
        .default(16),
    )
    .addOption(gitTimeoutOption("clone, fetch and push"))
    .addOption(
      new Option(
        "--lock-timeout <seconds>",
        "in a working checkout: wait this long for another bump there to finish, then exit 4",
      )
        .argParser(
          seconds("a bump waits for the one before it in the same checkout; omit the flag for the default"),
        )
        .default(DEFAULT_CHECKOUT_LOCK_SECONDS),
    )
    .addOption(outputOption())
    .addHelpText(
      "after",
      "\nExamples:\n  $ sysconfig bump web 58-develop --repo git@git.example.com:acme/sysconfig.git\n" +
        "  $ sysconfig bump web 41-develop --force          # deliberate rollback\n" +
        "  $ sysconfig bump web 58-develop --template deploy/web.service.hbs\n" +
        "  $ sysconfig bump web 58-develop --dry-run --output json\n\n" +
        "Rules: TAG is <build_num>-<branch> (^[0-9]+-[A-Za-z0-9_][A-Za-z0-9_.-]*$, ≤ 128 chars); the branch is the\n" +
        "tag's part after the first '-'. A lower build number than the repo holds is refused (exit 4) unless\n" +
        "--force; the same tag again changes nothing (exit 0). A push rejected because the branch moved is\n" +
        "re-applied on the new head and retried (--max-attempts). Bumps in one working checkout take turns on a\n" +
        "lock in its .git (--lock-timeout). Exit codes: 0 done, 1 git/network failure,\n" +
        "3 invalid input, 4 refused by a safety rule.",
    )
    .action(async (service: string, tag: string, o: Record<string, unknown>) =>
      (await import("./commands/bump.js")).runBump(
        {
          repo: (o.repo as string | undefined) ?? io().cwd,
          service,
          tag,
          branch: o.branch as string | undefined,
          template: o.template as string | undefined,
          force: o.force === true,
          dryRun: o.dryRun === true,
          output: o.output as "text" | "json",
          maxAttempts: o.maxAttempts as number,
          gitTimeout: o.gitTimeout as number,
          lockTimeout: o.lockTimeout as number,
        },
        io(),
      ),
    );

  program
    .command("build")
    .description("bake the config repo at HEAD into the config image, tag it, optionally push")
    .addOption(repoOption())
    .option("--image <repository>", "config image repository (default: sysconfig.yaml's image)")
    .option("--base <image>", "reconciler image to build on (default: this version's reconciler image)")
    .option(
      "--build-num <n>",
      "build number for the <n>-<branch> tag (default: CI's BUILD_NUMBER and friends)",
    )
    .option("--push", "push every tag to the registry")
    .option(
      "--skip-tip-check",
      "on --push, move IMAGE:BRANCH without checking that HEAD is the remote branch's tip (git ls-remote)",
    )
    .option("--dry-run", "show what would be built; build nothing")
    .addOption(gitTimeoutOption("the --push tip check (git ls-remote)"))
    .addOption(outputOption())
    .addHelpText("after", "\nExample:\n  $ sysconfig build --build-num 58 --push")
    .action(async (o: Record<string, unknown>) =>
      (await import("./commands/build.js")).runBuild(
        {
          repo: await localRepo(o.repo as string | undefined, "build"),
          image: o.image as string | undefined,
          base: o.base as string | undefined,
          buildNum: o.buildNum as string | undefined,
          push: o.push === true,
          skipTipCheck: o.skipTipCheck === true,
          gitTimeout: o.gitTimeout as number,
          dryRun: o.dryRun === true,
          output: o.output as "text" | "json",
        },
        io(),
      ),
    );

  for (const name of ["plan", "reconcile"] as const) {
    const planOnly = name === "plan";
    const command = program
      .command(name)
      .description(
        planOnly
          ? "show what reconcile would do, as a readable diff; changes nothing"
          : "plan, then apply: create, update and delete until the target matches the config",
      )
      .addOption(repoOption())
      .option("--environment <branch>", "environment (default: the baked one, or the current branch)")
      .addOption(
        new Option("--target <kind>", "override the target kind").choices(["fleet", "docker", "kubernetes"]),
      )
      .option("--endpoint <url>", "override the target endpoint (unix://…, http://…, tcp://…)")
      .addOption(outputOption())
      .option("--exit-code", "exit 2 when changes are pending (plan, or reconcile --dry-run)")
      .addOption(
        new Option("--max-delete <n>", "refuse to delete more than n objects (0: delete nothing)").argParser(
          wholeNumber({ min: 0, max: 1_000_000, unit: "objects" }),
        ),
      )
      .option("--allow-mass-delete", "allow a plan above --max-delete or one that empties the system")
      .addOption(requestTimeoutOption())
      .option("--identity-file <file>", identityFileHelp)
      .option("--context <name>", "kubernetes: the kubeconfig context to use (default its current-context)")
      .option(
        "--force-conflicts",
        "kubernetes: take over fields another field manager owns instead of failing on the conflict",
      );
    if (!planOnly) {
      command.option("--dry-run", "plan only, like sysconfig plan");
      applyOptions(command, "exit");
    }
    command
      .addHelpText(
        "after",
        planOnly
          ? "\nExamples:\n  $ sysconfig plan\n  $ sysconfig plan --exit-code --output json"
          : "\nExamples:\n  $ docker run --rm -v /var/run/fleet.sock:/var/run/fleet.sock acme/sysconfig:develop\n" +
              "  $ sysconfig reconcile --repo . --target docker --dry-run",
      )
      .action(async (o: Record<string, unknown>, cmd: Command) =>
        (await import("./commands/reconcile.js")).runReconcile(
          {
            ...applyFlagsOf(o, cmd, await localRepo(o.repo as string | undefined, name)),
            output: o.output as "text" | "json",
            planOnly: planOnly || o.dryRun === true,
            dryRun: o.dryRun === true,
            exitCode: o.exitCode === true,
          },
          withIdentityFile(withKubernetesFlags(io(), o), o),
        ),
      );
  }

  const serve = program
    .command("serve")
    .description(
      "long-running reconciler: runs on a schedule and on a signed webhook; health, status, metrics",
    )
    .addOption(repoOption())
    .option("--environment <branch>", "environment (default: the baked one, or the current branch)")
    .addOption(
      new Option("--target <kind>", "override the target kind").choices(["fleet", "docker", "kubernetes"]),
    )
    .option("--endpoint <url>", "override the target endpoint (unix://…, http://…, tcp://…)")
    .option(
      "--schedule <cron>",
      "when to correct drift: a node-cron expression, 6 fields = seconds first",
      "*/5 * * * *",
    )
    .option(
      "--listen <host:port>",
      "address of the web page (/), /hooks/reconcile, /healthz, /status, /metrics",
      "127.0.0.1:9420",
    )
    .option(
      "--webhook-secret-file <file>",
      "HMAC secret for X-Hub-Signature-256 (or SYSCONFIG_WEBHOOK_SECRET); without it the webhook is off",
    )
    .option("--notify-url-file <file>", "Slack-compatible incoming-webhook URL (or SYSCONFIG_NOTIFY_URL)")
    .option(
      "--ui-token-file <file>",
      "token the web page, /status and /events then require (bearer or login cookie; or SYSCONFIG_UI_TOKEN)",
    )
    .addOption(
      new Option("--unhealthy-after <n>", "/healthz answers 503 after n failed runs in a row")
        .argParser(
          wholeNumber({
            min: 1,
            max: 1000,
            unit: "runs",
            zeroHint: "pass 1 to turn unhealthy on the first failure",
          }),
        )
        .default(3),
    )
    .addOption(
      new Option("--grace-period <seconds>", "on SIGTERM, how long the running apply may take to stop")
        .argParser(seconds("a running apply needs time to stop at a safe point"))
        .default(25),
    )
    .addOption(
      new Option("--max-delete <n>", "refuse to delete more than n objects").argParser(
        wholeNumber({ min: 0, max: 1_000_000, unit: "objects" }),
      ),
    )
    .option("--allow-mass-delete", "allow a plan above --max-delete or one that empties the system")
    .option("--identity-file <file>", identityFileHelp)
    .addOption(requestTimeoutOption());
  applyOptions(serve, "skip")
    .addHelpText(
      "after",
      "\nExamples:\n  $ sysconfig serve --listen 0.0.0.0:9420 --webhook-secret-file /run/secrets/webhook\n" +
        '  $ sysconfig serve --schedule "*/30 * * * * *" --repo . --target docker\n\n' +
        "Runs once at start, then on --schedule and on POST /hooks/reconcile (signed like GitHub's webhooks);\n" +
        "never two runs at once. GET / (read-only web page, live), /healthz, /status (JSON), /metrics (Prometheus).\nOne JSON line per event on " +
        "stdout when it is not a terminal. SIGTERM: no new run, the running one stops at a safe point.",
    )
    .action(async (o: Record<string, unknown>, cmd: Command) =>
      (await import("./commands/serve.js")).runServe(
        {
          ...applyFlagsOf(o, cmd, await localRepo(o.repo as string | undefined, "serve")),
          schedule: o.schedule as string,
          listen: o.listen as string,
          webhookSecretFile: o.webhookSecretFile as string | undefined,
          notifyUrlFile: o.notifyUrlFile as string | undefined,
          uiTokenFile: o.uiTokenFile as string | undefined,
          unhealthyAfter: o.unhealthyAfter as number,
          gracePeriod: o.gracePeriod as number,
          verbose: program.opts().verbose === true,
          version: version(),
        },
        withIdentityFile(io(), o),
      ),
    );

  addSecretCommands(program, io, localRepo);
  nameEnvironment(program);
  return program;
}
