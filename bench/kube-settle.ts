// Benchmarks on the services script's kube-apiserver, which has no kubelet: Deployments become available
// only when something reports their pods Ready. settle plays that part between timed runs.
import { mapBounded } from "../reconciler/concurrency/pool.js";
import { kube, markPodReady } from "../test/helpers/kube.js";

/**
 * Plays the kubelet until every Deployment of the namespace has rolled out (its pods reported Ready, the
 * controllers caught up), so that no timed run pays for the previous one's ReplicaSets and pods, and a
 * run after it finds the system converged: on a real cluster kubelets and controllers run elsewhere.
 */
export async function settle(namespace: string): Promise<void> {
  const started = Date.now();
  const deadline = started + 900_000;
  for (;;) {
    const list = await kube<{
      items: {
        metadata: { generation?: number };
        spec: { replicas?: number };
        status?: {
          observedGeneration?: number;
          updatedReplicas?: number;
          availableReplicas?: number;
          replicas?: number;
        };
      }[];
    }>("GET", `/apis/apps/v1/namespaces/${namespace}/deployments`);
    const behind = list.items.filter(
      (d) =>
        (d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0) ||
        [d.status?.updatedReplicas, d.status?.availableReplicas, d.status?.replicas].some(
          (n) => (n ?? 0) !== (d.spec.replicas ?? 1),
        ),
    );
    if (behind.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${behind.length} Deployments did not roll out within 15 min`);
    const pods = await kube<{
      items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    }>("GET", `/api/v1/namespaces/${namespace}/pods`);
    const waiting = pods.items.filter(
      (p) => !p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    await mapBounded(waiting, 8, (pod) => markPodReady(namespace, pod.metadata.name));
    await new Promise((r) => setTimeout(r, 2000));
  }
  process.stderr.write(
    `bench: played the kubelet for ${namespace} (${Math.round((Date.now() - started) / 1000)} s)\n`,
  );
  await new Promise((r) => setTimeout(r, 3000)); // the ReplicaSet controller finishes after the status write
}
