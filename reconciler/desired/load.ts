// Loads the desired state: the config, the rendered files as committed under rendered/ (what was
// reviewed and baked — never re-rendered for use, only checked against a fresh render), and where it
// comes from (baked build info, else git HEAD and branch).
import { existsSync } from "node:fs";
import path from "node:path";
import { configHead } from "../config/head.js";
import { checkConfigText, readConfigText, type ConfigText } from "../config/load.js";
import { targetSchema, type SysconfigConfig, type TargetConfig, type TargetKind } from "../config/schema.js";
import { InvalidInputError } from "../errors.js";
import type { DesiredState } from "../model.js";
import { findStale } from "../render/compare.js";
import { renderAll, type RenderedFile } from "../render/render.js";
import { RENDERED_DIR } from "../render/templates.js";
import { escapeControls } from "../text/escape.js";
import type { Reporter } from "../report/reporter.js";
import { readBuildInfo } from "./build-info.js";
import { checkDesired } from "./check.js";
import { checkoutStatus } from "./git-status.js";

export interface LoadDesiredOptions {
  /** --environment; default the baked environment, else the checkout's branch. */
  environment?: string;
  /** --target: another target kind than the environment's. */
  targetKind?: TargetKind;
  /** --endpoint: overrides the target's endpoint. */
  endpoint?: string;
  /** Where targetKind and endpoint came from, for messages: "--target" (default) or "SYSCONFIG_TARGET", … */
  targetSource?: string;
  endpointSource?: string;
  reporter?: Reporter;
  /**
   * Called with the target as the head of sysconfig.yaml gives it, before the rest is parsed and checked
   * (config/head.ts), so that the target's reads can start: a hint that the full config may still refuse
   * or contradict. The returned promise is awaited (a turn of the event loop for the first request).
   */
  onHint?: (hint: TargetHint) => Promise<void>;
}

/** The target of a run as known from the head of sysconfig.yaml, before its services are parsed. */
export interface TargetHint {
  name: string;
  environment: string;
  target: TargetConfig;
}

export interface Origin {
  environment: string | undefined;
  revision: string;
  baked: boolean;
  /** Uncommitted (modified, added, deleted, untracked) files under rendered/, for the plan header. */
  uncommitted?: string[];
}

/** Where the state comes from: the baked build info, else git (HEAD, current branch), else nothing. */
async function originOf(dir: string, explicit: string | undefined): Promise<Origin> {
  const baked = await readBuildInfo(dir);
  if (baked) {
    if (explicit !== undefined && explicit !== baked.environment) {
      throw new InvalidInputError(
        `--environment ${explicit} does not match this config image, which was built for ${baked.environment} ` +
          `(${path.join(dir, ".sysconfig-build.json")}). Run the config image built for ${explicit}.`,
      );
    }
    return { environment: baked.environment, revision: baked.revision, baked: true };
  }
  if (!existsSync(dir)) throw new InvalidInputError(`${dir} does not exist. Pass --repo with a config repo.`);
  // A baked config image (the reconciler in production) never runs git.
  const status = await checkoutStatus(dir);
  if (status === undefined) return { environment: explicit, revision: "unknown", baked: false };
  const uncommitted = status.changed.filter((p) => p.startsWith(`${RENDERED_DIR}/`)).sort();
  // A repository without commits has no revision yet, but its branch names the environment.
  const revision =
    status.revision === undefined
      ? "unknown"
      : status.changed.length > 0
        ? `${status.revision}-dirty`
        : status.revision;
  return { environment: explicit ?? status.branch, revision, baked: false, uncommitted };
}

function pickEnvironment(
  config: Pick<SysconfigConfig, "name"> & { environments: Record<string, unknown> },
  environment: string | undefined,
  dir: string,
): string {
  const known = Object.keys(config.environments);
  if (environment === undefined) {
    throw new InvalidInputError(
      `cannot tell which environment ${dir} is for: it is neither a baked config image nor a git checkout on a branch. ` +
        `Pass --environment (one of ${known.join(", ")}).`,
    );
  }
  if (!Object.hasOwn(config.environments, environment)) {
    throw new InvalidInputError(
      `'${escapeControls(environment)}' is not an environment of ${config.name}: sysconfig.yaml lists ${known.join(", ")}. ` +
        `Pass --environment with one of those.`,
    );
  }
  return environment;
}

/** The environment's target with --target / --endpoint applied; other settings only when kinds match. */
export function resolveTarget(
  configured: TargetConfig,
  kind: TargetKind | undefined,
  endpoint: string | undefined,
  sources: { target?: string; endpoint?: string } = {},
): TargetConfig {
  const base: Record<string, unknown> =
    kind === undefined || kind === configured.kind ? { ...configured } : { kind };
  if (endpoint !== undefined) base.endpoint = endpoint;
  const parsed = targetSchema.safeParse(base);
  if (!parsed.success) {
    // Each problem names the value's source: the flag, its SYSCONFIG_* variable, or the config.
    const named = parsed.error.issues.map((i) => {
      const field = String(i.path[0] ?? "");
      if (field === "endpoint" && endpoint !== undefined) {
        return `${sources.endpoint ?? "--endpoint"} ${JSON.stringify(endpoint)}: ${i.message}`;
      }
      if (field === "kind" && kind !== undefined) {
        return `${sources.target ?? "--target"} ${JSON.stringify(kind)}: ${i.message} (fleet, docker or kubernetes)`;
      }
      return `the environment's target.${i.path.join(".")}: ${i.message}`;
    });
    throw new InvalidInputError(
      `invalid target: ${named.join("; ")}. Fix the value named. Nothing was changed.`,
    );
  }
  return parsed.data;
}

/** What the desired state is made from, known before anything is rendered: enough to reach the target. */
export interface DesiredSource {
  dir: string;
  config: SysconfigConfig;
  environment: string;
  /** The environment's target as configured, and as resolved with --target / --endpoint. */
  configured: TargetConfig;
  target: TargetConfig;
  origin: Origin;
  reporter?: Reporter;
  /** Where a --target override came from ("--target" or "SYSCONFIG_TARGET"), named in messages. */
  targetSource?: string;
}

/**
 * The config, the origin and the target of `dir` (a config repo checkout, or the baked config in a
 * config image): invalid config or an unknown environment is InvalidInputError (exit 3).
 */
export async function readDesiredSource(
  dir: string,
  options: LoadDesiredOptions = {},
): Promise<DesiredSource> {
  // git status runs while sysconfig.yaml is parsed and checked; a config error still comes first. It
  // starts first, unless the target can be handed out before it (an explicit --environment): starting a
  // process takes a few milliseconds of the main thread.
  const startOrigin = (): Promise<Found> =>
    originOf(dir, options.environment).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  let found = options.onHint && options.environment !== undefined ? undefined : startOrigin();
  const read = await readConfigText(dir);
  if (options.onHint) await offerHint(read, () => (found ??= startOrigin()), dir, options, options.onHint);
  found ??= startOrigin();
  const config = checkConfigText(read);
  const settled = await found;
  if ("error" in settled) throw settled.error;
  const origin = settled.value;
  const environment = pickEnvironment(config, origin.environment, dir);
  const { configured, target } = environmentTarget(config.environments, environment, options);
  return {
    dir,
    config,
    environment,
    configured,
    target,
    origin,
    ...(options.reporter ? { reporter: options.reporter } : {}),
    ...(options.targetSource !== undefined ? { targetSource: options.targetSource } : {}),
  };
}

/** An environment's target as configured (Docker when it names none), and with --target / --endpoint applied. */
function environmentTarget(
  environments: Record<string, unknown>,
  environment: string,
  options: LoadDesiredOptions,
): { configured: TargetConfig; target: TargetConfig } {
  const settings = environments[environment] as { target?: TargetConfig } | null | undefined;
  const configured = settings?.target ?? { kind: "docker" as const };
  const target = resolveTarget(configured, options.targetKind, options.endpoint, {
    ...(options.targetSource !== undefined ? { target: options.targetSource } : {}),
    ...(options.endpointSource !== undefined ? { endpoint: options.endpointSource } : {}),
  });
  return { configured, target };
}

/** What git status (or the baked build info) gave: the origin, or the error it is thrown with later. */
type Found = { value: Origin } | { error: unknown };

/** Hands onHint the target the head of sysconfig.yaml names, if it names a valid one; never throws. */
async function offerHint(
  read: ConfigText,
  origin: () => Promise<Found>,
  dir: string,
  options: LoadDesiredOptions,
  onHint: (hint: TargetHint) => Promise<void>,
): Promise<void> {
  const head = configHead(read.text);
  if (head === undefined) return;
  // An explicit --environment needs no git: the checkout's branch (git status) is waited for otherwise.
  let chosen = options.environment;
  if (chosen === undefined) {
    const settled = await origin();
    if ("error" in settled) return;
    chosen = settled.value.environment;
  }
  let hint: TargetHint;
  try {
    const environment = pickEnvironment(head, chosen, dir);
    hint = {
      name: head.name,
      environment,
      target: environmentTarget(head.environments, environment, options).target,
    };
  } catch {
    return; // the full parse decides, and says what is wrong
  }
  await onHint(hint);
}

/**
 * The desired state of a source: rendered/ as committed, checked against a fresh render. A rendered/ that
 * is missing files or stale, or holds what the target cannot take, is InvalidInputError (exit 3):
 * reconcile only ever applies what was reviewed.
 */
export async function renderDesiredState(source: DesiredSource): Promise<DesiredState> {
  const { dir, config, environment, configured, target, origin } = source;
  let files: RenderedFile[];
  if (target.kind === configured.kind) {
    const fresh = await renderAll(dir, config, environment);
    const stale = await findStale(dir, fresh);
    if (stale.length > 0) {
      const what = stale.map((s) =>
        s.actual === undefined
          ? `${s.path} (missing)`
          : s.expected === undefined
            ? `${s.path} (no service renders it)`
            : `${s.path} (stale)`,
      );
      throw new InvalidInputError(
        `rendered/ does not match the config for ${environment}: ${what.join(", ")}. ` +
          (origin.baked
            ? "This config image was baked from a stale config repo (or by another sysconfig version): run 'sysconfig render', commit, and build again."
            : "Run 'sysconfig render' and commit the result: reconcile applies only what is committed under rendered/."),
      );
    }
    // Nothing is stale, so every committed file is byte for byte the fresh render: no second read.
    files = fresh;
    await checkDesired(config, environment, files);
  } else {
    // rendered/ holds files for another target kind: render for the requested one, in memory.
    source.reporter?.warn(
      `${source.targetSource ?? "--target"} ${target.kind}: rendered/ is for ${configured.kind}, so services are rendered for ${target.kind} in memory (not what was reviewed).`,
    );
    const overridden: SysconfigConfig = {
      ...config,
      environments: { ...config.environments, [environment]: { target } },
    };
    files = await renderAll(dir, overridden, environment);
    await checkDesired(overridden, environment, files);
  }

  return {
    system: config.name,
    environment,
    revision: origin.revision,
    target,
    services: config.services,
    files,
    ...(origin.uncommitted && origin.uncommitted.length > 0 ? { uncommitted: origin.uncommitted } : {}),
  };
}

/** readDesiredSource, then renderDesiredState: the desired state of `dir`. */
export async function loadDesiredState(dir: string, options: LoadDesiredOptions = {}): Promise<DesiredState> {
  return renderDesiredState(await readDesiredSource(dir, options));
}
