// sysconfig rbac: prints the least-privilege Role (and ClusterRole only when cluster-scoped kinds are
// rendered) for exactly the kinds an environment renders, plus the reconciler's Lease. Resolves kinds
// without a cluster: built-in kinds from a table, custom kinds from the config's own CRDs.
import { loadConfig } from "../../reconciler/config/load.js";
import { InvalidInputError, reasonOf } from "../../reconciler/errors.js";
import type { DesiredState } from "../../reconciler/model.js";
import { renderAll } from "../../reconciler/render/render.js";
import { kubernetesDesiredObjects } from "../../reconciler/targets/kubernetes/desired.js";
import { rbacManifests } from "../../reconciler/targets/kubernetes/rbac.js";
import type { CliIo } from "../io.js";
import { resolveEnvironment } from "../repo.js";

export interface RbacOptions {
  repo: string;
  environment?: string;
  serviceAccount: string;
}

export async function runRbac(options: RbacOptions, io: CliIo): Promise<void> {
  const config = await loadConfig(options.repo);
  const environment = await resolveEnvironment(options.repo, config, options.environment);
  const target = config.environments[environment]?.target;
  if (target?.kind !== "kubernetes") {
    const kubernetes = Object.entries(config.environments)
      .filter(([, e]) => e.target.kind === "kubernetes")
      .map(([name]) => name);
    throw new InvalidInputError(
      `sysconfig rbac: environment ${environment} targets ${target?.kind ?? "nothing"}, not kubernetes; RBAC is ` +
        `for Kubernetes environments. Pass --environment ${kubernetes[0] ?? "NAME"}${
          kubernetes.length > 1 ? ` (one of ${kubernetes.join(", ")})` : ""
        }.`,
    );
  }
  const state: DesiredState = {
    system: config.name,
    environment,
    revision: "rbac",
    target,
    services: config.services,
    files: await renderAll(options.repo, config, environment),
  };
  let objects;
  try {
    objects = kubernetesDesiredObjects(state);
  } catch (error) {
    throw new InvalidInputError(
      `sysconfig rbac: ${reasonOf(error)} sysconfig rbac knows built-in kinds and the kinds this config's own ` +
        `CustomResourceDefinitions define; for a kind installed by someone else add its rule by hand.`,
      { cause: error },
    );
  }
  io.out(
    rbacManifests(objects, {
      system: config.name,
      namespace: target.namespace,
      environment,
      serviceAccount: options.serviceAccount,
    }).trimEnd(),
  );
}
