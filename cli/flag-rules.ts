// Flags that the command line gives but the command would not use are refused (exit 3), never silently
// ignored: `reconcile --exit-code` without --dry-run used to apply every change while the caller waited
// for exit 2. One table; each rule names the flag, the command and what to do instead.
import type { Command } from "commander";
import { InvalidInputError } from "../reconciler/errors.js";

type Values = Record<string, unknown>;

interface FlagRule {
  commands: readonly string[];
  /** The option's attribute name (--exit-code: exitCode). */
  flag: string;
  /** True when the flag, as given, would have no effect. */
  ignored(values: Values, given: (key: string) => boolean): boolean;
  reason: string;
  /**
   * Also refused when set by its SYSCONFIG_* variable, not only on the command line: for a flag whose
   * being ignored changes what happens (the variable is as much a request as the flag). Others are refused
   * on the command line only, since CI may set a variable for every step of a job.
   */
  fromEnvironmentToo?: boolean;
}

const RULES: readonly FlagRule[] = [
  {
    commands: ["reconcile"],
    flag: "exitCode",
    ignored: (v) => v.exitCode === true && v.dryRun !== true,
    reason:
      "reconcile takes --exit-code only with --dry-run (exit 2 when changes are pending); without --dry-run it " +
      "applies the changes. Add --dry-run, or run 'sysconfig plan --exit-code'",
    fromEnvironmentToo: true,
  },
  {
    commands: ["reconcile", "serve"],
    flag: "lockTimeout",
    ignored: (v) => v.waitLock !== true,
    reason:
      "--lock-timeout bounds --wait-lock only; without it a held lock is not waited for. Add --wait-lock",
  },
  {
    commands: ["reconcile", "serve"],
    flag: "timeout",
    ignored: (v) => v.wait === false,
    reason: "--timeout bounds the health wait, which --no-wait skips. Drop one of them",
  },
  {
    commands: ["build"],
    flag: "skipTipCheck",
    ignored: (v) => v.push !== true,
    reason: "the tip check runs only with --push. Add --push, or drop --skip-tip-check",
  },
  {
    commands: ["build"],
    flag: "gitTimeout",
    ignored: (v) => v.push !== true || v.skipTipCheck === true,
    reason: "--git-timeout bounds --push's tip check (git ls-remote) only",
  },
  {
    commands: ["render"],
    flag: "anyBranch",
    ignored: (v, given) => !given("environment"),
    reason:
      "--any-branch lets --environment render on another environment's branch. Add --environment BRANCH",
  },
  {
    commands: ["bump"],
    flag: "maxAttempts",
    ignored: (v) => v.dryRun === true,
    reason: "--dry-run pushes nothing, so there is no push to attempt again. Drop one of them",
  },
];

/** Throws InvalidInputError (exit 3) for the first flag `command` was given but would ignore. */
export function refuseIgnoredFlags(command: Command): void {
  const values = command.opts<Values>();
  const sourceOf = (key: string) => command.getOptionValueSource(key);
  const given = (key: string) => sourceOf(key) === "cli" || sourceOf(key) === "env";
  for (const rule of RULES) {
    if (!rule.commands.includes(command.name())) continue;
    const source = sourceOf(rule.flag);
    if (source !== "cli" && !(source === "env" && rule.fromEnvironmentToo === true)) continue;
    if (!rule.ignored(values, given)) continue;
    const option = command.options.find((o) => o.attributeName() === rule.flag);
    const shown =
      source === "env" && option?.envVar !== undefined
        ? `${option.envVar}=${JSON.stringify(process.env[option.envVar] ?? "")}`
        : (option?.long ?? rule.flag);
    throw new InvalidInputError(`${command.name()} ${shown} failed: ${rule.reason}. Nothing was changed.`);
  }
}
