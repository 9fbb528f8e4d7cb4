// sysconfig serve: the long-running reconciler (DESIGN §7). Turns flags and secret files into a
// ServeConfig, starts reconciler/serve, and stops it gracefully on SIGTERM or SIGINT.
import os from "node:os";
import { InvalidInputError, RuntimeFailureError } from "../../reconciler/errors.js";
import { createEventLog } from "../../reconciler/serve/event-log.js";
import { notifyUrl, parseListen, readSecretFile } from "../../reconciler/serve/inputs.js";
import { validateSchedule } from "../../reconciler/serve/schedule.js";
import { startServe } from "../../reconciler/serve/serve.js";
import { createTarget } from "../../reconciler/targets/create.js";
import { redactSecrets } from "../git/redact.js";
import type { CliIo } from "../io.js";
import { applyRequest, type ApplyFlags } from "./apply-request.js";

/** The page's token guards /status and the login form: long enough that guessing it is hopeless. */
const MIN_UI_TOKEN_BYTES = 16;

export interface ServeOptions extends ApplyFlags {
  schedule: string;
  listen: string;
  webhookSecretFile?: string;
  notifyUrlFile?: string;
  uiTokenFile?: string;
  unhealthyAfter: number;
  gracePeriod: number;
  verbose: boolean;
  version: string;
}

/** A secret from its file flag, else from its environment variable (unset or empty: none). */
function secretInput(
  io: CliIo,
  file: string | undefined,
  flag: string,
  variable: string,
): Buffer | undefined {
  if (file !== undefined) return readSecretFile(file, flag);
  const value = io.env[variable];
  return value ? Buffer.from(value, "utf8") : undefined;
}

export async function runServe(options: ServeOptions, io: CliIo): Promise<void> {
  // Every input is checked before anything starts: a typo is exit 3, not a server that never runs.
  validateSchedule(options.schedule);
  const listen = parseListen(options.listen);
  if (options.unhealthyAfter < 1) {
    throw new InvalidInputError(
      `--unhealthy-after ${options.unhealthyAfter} failed: must be at least 1 (the number of failed runs in a row ` +
        `after which /healthz answers 503). Nothing was started.`,
    );
  }
  const webhookSecret = secretInput(
    io,
    options.webhookSecretFile,
    "--webhook-secret-file",
    "SYSCONFIG_WEBHOOK_SECRET",
  );
  const notify = notifyUrl(options.notifyUrlFile, io.env);
  const uiToken = secretInput(io, options.uiTokenFile, "--ui-token-file", "SYSCONFIG_UI_TOKEN");
  if (uiToken !== undefined && uiToken.length < MIN_UI_TOKEN_BYTES) {
    throw new InvalidInputError(
      `${options.uiTokenFile !== undefined ? `--ui-token-file ${options.uiTokenFile}` : "SYSCONFIG_UI_TOKEN"} failed: the token ` +
        `has ${uiToken.length} characters; it must have at least ${MIN_UI_TOKEN_BYTES} (the login form can be tried ` +
        `over and over). Make one with: head -c 24 /dev/urandom | base64. Nothing was started.`,
    );
  }
  const secrets = [webhookSecret?.toString("utf8"), notify?.href, uiToken?.toString("utf8")].filter(
    (s): s is string => s !== undefined,
  );
  const redact = (text: string) => redactSecrets(text, secrets);
  const log = createEventLog({
    write: (line) => io.out(line),
    json: !io.isTTY,
    verbose: options.verbose,
    redact,
  });

  const handle = await startServe(
    {
      request: { ...applyRequest(options), lockOwner: `${os.hostname()} pid ${process.pid} (serve)` },
      schedule: options.schedule,
      listen,
      ...(webhookSecret ? { webhookSecret } : {}),
      ...(notify ? { notifyUrl: notify } : {}),
      ...(uiToken ? { uiToken } : {}),
      unhealthyAfter: options.unhealthyAfter,
      gracePeriodSeconds: options.gracePeriod,
      version: options.version,
    },
    { createTarget, env: io.env, log, redact },
  );

  const stopped = await new Promise<{ graceful: boolean; signal: string }>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      // A second signal gets Node's default: the process ends at once.
      void handle.stop(signal).then(({ graceful }) => resolve({ graceful, signal }));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  if (!stopped.graceful) {
    throw new RuntimeFailureError(
      `serve stop on ${stopped.signal} failed: the running reconcile did not reach a safe point within ` +
        `--grace-period ${options.gracePeriod} s; the target's lock may still be held. The next run ` +
        `converges once the lock is released (see docs/serve.md).`,
    );
  }
}
