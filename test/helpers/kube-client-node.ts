// @kubernetes/client-node clients for tests that check the control plane with the official client.
// Kept apart from kube.ts so that benchmark children (which import kube.ts) do not load it: its load
// alone costs about 90 MB of RSS and would blur the figures they report.
import { KubeConfig } from "@kubernetes/client-node";
import { KUBE, kubeconfigText, type Credentials } from "./kube.js";

/** The admin kubeconfig the services script writes (system:masters). */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBE.kubeconfig);
  return kc;
}

export function kubeConfigFor(credentials: Credentials): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText(credentials));
  return kc;
}
