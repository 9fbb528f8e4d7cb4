// Applies one change (DESIGN §6): create and update are server-side apply with field manager
// `sysconfig`; a create first checks that no object of someone else took the name since the plan
// (apply would adopt it). Conflicts with other field managers fail, naming field and manager, unless
// --force-conflicts, or the change only takes back fields sysconfig itself set (drift by hand).
// Delete is a DELETE preconditioned on the uid the plan saw, so a re-created object is never removed.
import { InternalError, RuntimeFailureError, reasonOf } from "../../errors.js";
import type { Change } from "../../model.js";
import type { KubernetesActualSpec } from "./actual.js";
import { KubernetesRequestError, type KubernetesClient } from "./client.js";
import { collectionKey } from "./collections.js";
import { conflictLines } from "./conflicts.js";
import { objectPath } from "./kinds.js";
import type { SecretValues } from "../../secrets/open.js";
import { withSecretData } from "./secret-values.js";
import type { KubernetesLock } from "./lock.js";
import type { ApplyContext } from "../target.js";
import { changeFailure, NotTouchedError, sendsNothing } from "../apply-change.js";
import { waitEstablished, type EstablishedWaits } from "./crd-wait.js";
import type { DeleteOrder } from "./delete-order.js";
import { isOwned, type KubeObject, type KubernetesDesiredSpec, type OwnerScope } from "./desired.js";

export const FIELD_MANAGER = "sysconfig";

export interface ApplyGuards {
  scope: OwnerScope;
  forceConflicts: boolean;
  /** The lock this run holds: checked before every write, and the inventory is recorded in it. */
  lock?: KubernetesLock | undefined;
  /** metadata.generation returned by each apply, for the rollout wait. */
  applied: Map<string, number>;
  /** Waits for CRDs this run creates to be Established, shared by their objects. */
  established: EstablishedWaits;
  /** Deletes in reverse apply order within a service. */
  deleteOrder?: DeleteOrder;
  /** This run's decrypted values, for sysconfig-owned Secrets (secret-values.ts). */
  secrets?: SecretValues | undefined;
}

export async function kubernetesApply(
  client: KubernetesClient,
  change: Change,
  guards: ApplyGuards,
  context?: ApplyContext,
): Promise<void> {
  try {
    guards.lock?.assertHeld();
    if (sendsNothing(change.action)) return;
    switch (change.action) {
      case "create":
      case "update": {
        const spec = change.desired?.spec as KubernetesDesiredSpec | undefined;
        if (!spec) throw new InternalError(`${change.subject} ${change.action}: no desired object`);
        const path = objectPath(spec.kind, spec.namespace, spec.name);
        if (spec.kind.definedBy !== undefined && context !== undefined) {
          await waitEstablished(client, spec.kind.definedBy, context, guards.established);
        }
        await guards.lock?.record([collectionKey(spec.kind, spec.namespace)]);
        if (change.action === "create") {
          const now = await client.request<KubeObject>("GET", path, { accept: [404] });
          if (now.status !== 404 && !isOwned(now.body, guards.scope)) {
            throw new NotTouchedError(
              `${change.subject} create not applied: ${change.desired?.name ?? spec.name} appeared on the cluster ` +
                `since the plan and sysconfig does not own it (no ${guards.scope.system} owner labels); it was not ` +
                `touched. Find out who created it, remove or rename it by hand, then reconcile again.`,
            );
          }
        }
        const reclaim = (change.actual?.spec as KubernetesActualSpec | undefined)?.reclaim === true;
        const force = guards.forceConflicts || reclaim;
        let result: KubeObject;
        try {
          result = (
            await client.request<KubeObject>("PATCH", path, {
              query: { fieldManager: FIELD_MANAGER, force: String(force) },
              body: withSecretData(spec.manifest, guards.secrets, change.subject),
              contentType: "application/apply-patch+yaml",
            })
          ).body;
        } catch (error) {
          if (error instanceof KubernetesRequestError && error.status === 409) {
            throw new NotTouchedError(
              `${change.subject} ${change.action} refused: server-side apply conflicts with other field ` +
                `managers: ${conflictLines(error).join("; ")}. Nothing was changed. Remove these fields from the ` +
                `manifest, or pass --force-conflicts to make sysconfig their manager.`,
              { cause: error },
            );
          }
          throw error;
        }
        guards.applied.set(change.subject, result.metadata.generation ?? 0);
        return;
      }
      case "delete": {
        const spec = change.actual?.spec as KubernetesActualSpec | undefined;
        if (!spec || !change.actual) throw new InternalError(`${change.subject} delete: no actual object`);
        if (context !== undefined) await guards.deleteOrder?.before(change.actual, context);
        const res = await client.request("DELETE", objectPath(spec.kind, spec.namespace, spec.name), {
          body: {
            apiVersion: "v1",
            kind: "DeleteOptions",
            propagationPolicy: "Background",
            ...(spec.uid === undefined ? {} : { preconditions: { uid: spec.uid } }),
          },
          accept: [404, 409],
        });
        if (res.status === 409) {
          throw new NotTouchedError(
            `${change.subject} delete not applied: the object was replaced since the plan (its uid changed); ` +
              `it was not deleted. Run reconcile again to plan against the new object.`,
          );
        }
        return;
      }
    }
  } catch (error) {
    if (error instanceof KubernetesRequestError && error.status === 403) {
      throw new RuntimeFailureError(forbiddenMessage(change, error, guards.scope), { cause: error });
    }
    const reason =
      error instanceof KubernetesRequestError
        ? reasonOf(error).replace(/^kubernetes \S+ \S+ failed: /, "")
        : reasonOf(error);
    throw changeFailure(change, error, reason);
  }
}

/**
 * A 403 as an operator can act on it: which verb on which resource was refused, and the command that
 * prints the Role granting what this config needs.
 */
export function forbiddenMessage(change: Change, error: KubernetesRequestError, scope: OwnerScope): string {
  // The API server says: `… cannot patch resource "deployments" in API group "apps" in the namespace "x"`.
  const said =
    /cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/.exec(
      error.detail,
    );
  const verb = said?.[1] ?? "?";
  const resource = said === null ? "?" : `${said[2] ?? "?"}${said[3] ? `.${said[3]}` : ""}`;
  const where = said?.[4] === undefined ? "cluster-wide" : `in namespace ${said[4]}`;
  return (
    `${change.subject} ${change.action} forbidden: the credentials may not ${verb} ${resource} ${where} ` +
    `(HTTP 403: ${error.detail}). Nothing else was changed for it. Grant the permissions this config needs: ` +
    `sysconfig rbac --environment ${scope.environment} | kubectl apply -f - (or add the rule to deploy/kubernetes/role.yaml).`
  );
}
