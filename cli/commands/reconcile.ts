// sysconfig plan / reconcile: runs the reconcile pipeline and prints its plan and report.
import os from "node:os";
import { summarize, hasPendingChanges } from "../../reconciler/diff/summary.js";
import { ChangesPendingSignal, SafetyRefusalError } from "../../reconciler/errors.js";
import { planJson } from "../../reconciler/plan/json.js";
import { formatPlanText, formatReportText } from "../../reconciler/plan/text.js";
import {
  runReconcile as runPipeline,
  type PlannedRun,
  type ReconcileOutcome,
} from "../../reconciler/pipeline/reconcile.js";
import { createTarget } from "../../reconciler/targets/create.js";
import { redactSecrets } from "../git/redact.js";
import type { CliIo } from "../io.js";
import { applyRequest, type ApplyFlags } from "./apply-request.js";

export interface ReconcileOptions extends ApplyFlags {
  output: "text" | "json";
  /** plan only: nothing is applied. */
  planOnly: boolean;
  dryRun?: boolean;
  exitCode?: boolean;
}

/** Aborts the returned signal on the first SIGINT/SIGTERM; a second one gets the default (kill). */
function interruptSignal(io: CliIo): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    io.reporter.warn(
      `${name}: finishing the changes in flight, starting no new ones, then releasing the lock`,
    );
    controller.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

export async function runReconcile(options: ReconcileOptions, io: CliIo): Promise<void> {
  const json = options.output === "json";
  // The JSON names the endpoint; a password or token in its URL stays out of it.
  const endpoint = options.endpoint === undefined ? undefined : redactSecrets(options.endpoint);
  let planned: PlannedRun | undefined;
  let printed = false;
  const interrupt = interruptSignal(io);
  try {
    const outcome = await runPipeline(
      {
        ...applyRequest(options),
        planOnly: options.planOnly,
        lockOwner: `${os.hostname()} pid ${process.pid}`,
      },
      {
        createTarget,
        reporter: io.reporter,
        env: io.env,
        signal: interrupt.signal,
        onPlan: (plan) => {
          planned = plan;
          if (!json) io.out(formatPlanText(plan.changeSet, { color: io.color }));
        },
        onResult: (result: ReconcileOutcome) => {
          printed = true;
          io.out(
            json
              ? JSON.stringify(planJson(result.changeSet, { endpoint, results: result.results }), null, 2)
              : formatReportText(result.results ?? [], { color: io.color }),
          );
        },
      },
    );
    if (json && !printed) io.out(JSON.stringify(planJson(outcome.changeSet, { endpoint }), null, 2));
    if (
      options.planOnly &&
      options.exitCode === true &&
      hasPendingChanges(summarize(outcome.changeSet.changes))
    ) {
      throw new ChangesPendingSignal("changes pending");
    }
  } catch (error) {
    // A refused plan is still shown in JSON, with the rule that refused it.
    if (json && !printed && planned !== undefined && error instanceof SafetyRefusalError) {
      io.out(
        JSON.stringify(
          planJson(planned.changeSet, {
            endpoint,
            refused: { rule: error.rule, message: error.message },
          }),
          null,
          2,
        ),
      );
    }
    throw error;
  } finally {
    interrupt.dispose();
  }
}
