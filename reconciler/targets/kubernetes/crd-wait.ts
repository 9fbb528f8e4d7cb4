// An object of a CustomResourceDefinition this run creates is sent only once the API server serves its
// kind: the CRD's Established condition. One wait per CRD, shared by all its objects; bounded by the
// change's deadline; it sits outside the apply limit (a poll, not a write).
import { RuntimeFailureError } from "../../errors.js";
import type { ApplyContext } from "../target.js";
import { pause } from "../lock-wait.js";
import type { KubernetesClient } from "./client.js";
import type { KubeObject } from "./desired.js";
import { objectHealth } from "./health.js";

export type EstablishedWaits = Map<string, Promise<void>>;

/** `kubernetes:apiextensions.k8s.io/v1/CustomResourceDefinition/x.example.com` → its URL path. */
function crdPath(subject: string): string {
  const name = subject.slice(subject.lastIndexOf("/") + 1);
  return `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;
}

export function waitEstablished(
  client: KubernetesClient,
  crdSubject: string,
  context: ApplyContext,
  waits: EstablishedWaits,
  pollMs = 250,
): Promise<void> {
  let wait = waits.get(crdSubject);
  if (!wait) {
    const poll = async (): Promise<void> => {
      let last = "not created yet";
      for (;;) {
        const res = await client.request<KubeObject>("GET", crdPath(crdSubject), { accept: [404] });
        if (res.status !== 404) {
          const health = objectHealth(res.body);
          if (health.state === "healthy") return;
          last = health.reason;
        }
        if (Date.now() + pollMs > context.deadline || context.signal?.aborted === true) {
          throw new RuntimeFailureError(
            `its CustomResourceDefinition ${crdSubject.replace(/^kubernetes:/, "")} is not Established (${last}); ` +
              `the object was not sent`,
          );
        }
        await pause(pollMs, context.signal);
      }
    };
    wait = context.outsideLimit ? context.outsideLimit(poll) : poll();
    // A failed wait is not kept: another object of the same CRD asks again.
    wait.catch(() => waits.delete(crdSubject));
    waits.set(crdSubject, wait);
  }
  return wait;
}
