// Loads the desired state: the config, the rendered files as committed under rendered/ (what was
// reviewed and baked — never re-rendered for use, only checked against a fresh render), and where it
// comes from (baked build info, else git HEAD and branch).
import { existsSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../config/load.js";
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
}

interface Origin {
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
  // Loaded only here: a baked config image (the reconciler in production) never needs git.
  const { simpleGit } = await import("simple-git");
  const git = simpleGit(dir);
  let isRepo = false;
  try {
    isRepo = await git.checkIsRepo();
  } catch {
    isRepo = false;
  }
  if (!isRepo) return { environment: explicit, revision: "unknown", baked: false };
  try {
    const revision = (await git.revparse(["HEAD"])).trim();
    const branch = (await git.revparse(["--abbrev-ref", "HEAD"])).trim();
    const status = await git.status(["--untracked-files=all"]);
    const dirty = !status.isClean();
    const uncommitted = status.files.map((f) => f.path).filter((p) => p.startsWith(`${RENDERED_DIR}/`));
    return {
      environment: explicit ?? (branch === "HEAD" ? undefined : branch),
      revision: dirty ? `${revision}-dirty` : revision,
      baked: false,
      uncommitted: uncommitted.sort(),
    };
  } catch {
    // A repository without commits has no revision yet, but its branch names the environment, and every
    // rendered/ file is uncommitted.
    const branch = await git.raw(["symbolic-ref", "--quiet", "--short", "HEAD"]).catch(() => "");
    const rendered = await git.status(["--untracked-files=all"]).then(
      (s) => s.files.map((f) => f.path).filter((p) => p.startsWith(`${RENDERED_DIR}/`)),
      () => [],
    );
    return {
      environment: explicit ?? (branch.trim() || undefined),
      revision: "unknown",
      baked: false,
      uncommitted: rendered.sort(),
    };
  }
}

function pickEnvironment(config: SysconfigConfig, environment: string | undefined, dir: string): string {
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

/**
 * The desired state of `dir` (a config repo checkout, or the baked config in a config image).
 * Invalid config, an unknown environment, or a rendered/ that is missing files or stale against a
 * fresh render is InvalidInputError (exit 3): reconcile only ever applies what was reviewed.
 */
export async function loadDesiredState(dir: string, options: LoadDesiredOptions = {}): Promise<DesiredState> {
  const config = await loadConfig(dir);
  const origin = await originOf(dir, options.environment);
  const environment = pickEnvironment(config, origin.environment, dir);
  const configured = config.environments[environment]?.target ?? { kind: "docker" as const };
  const target = resolveTarget(configured, options.targetKind, options.endpoint, {
    ...(options.targetSource !== undefined ? { target: options.targetSource } : {}),
    ...(options.endpointSource !== undefined ? { endpoint: options.endpointSource } : {}),
  });

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
    options.reporter?.warn(
      `${options.targetSource ?? "--target"} ${target.kind}: rendered/ is for ${configured.kind}, so services are rendered for ${target.kind} in memory (not what was reviewed).`,
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
