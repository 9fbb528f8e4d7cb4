// Config repos whose `master` environment targets the real test apiserver: each service brings its
// own Kubernetes template (plain YAML, or Handlebars using service.imageRef), rendered as `sysconfig
// render` would. Also the in-process reconcile the kubernetes suites drive, with the target kept.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../../reconciler/config/load.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { writeRendered } from "../../reconciler/render/write.js";
import {
  runReconcile,
  type ReconcileOutcome,
  type ReconcileRequest,
} from "../../reconciler/pipeline/reconcile.js";
import { silentReporter, type Reporter } from "../../reconciler/report/reporter.js";
import {
  createKubernetesTarget,
  type KubernetesTarget,
  type KubernetesTuning,
} from "../../reconciler/targets/kubernetes/target.js";
import type { TargetConfig } from "../../reconciler/config/schema.js";

export interface KubeService {
  tag?: string;
  dependsOn?: string[];
  /** The service's own template; default the built-in Deployment + Service with port 8080. */
  template?: string;
}

export async function writeKubeRepo(
  dir: string,
  opts: { system?: string; namespace: string; kubeconfig?: string; services: Record<string, KubeService> },
): Promise<void> {
  await mkdir(path.join(dir, "templates"), { recursive: true });
  const lines = [
    `name: ${opts.system ?? "acme"}`,
    "image: 127.0.0.1:5000/acme/sysconfig",
    "environments:",
    `  master: { target: { kind: kubernetes, namespace: ${opts.namespace}${
      opts.kubeconfig === undefined ? "" : `, kubeconfig: ${JSON.stringify(opts.kubeconfig)}`
    } } }`,
    Object.keys(opts.services).length === 0 ? "services: {}" : "services:",
  ];
  for (const [name, svc] of Object.entries(opts.services)) {
    lines.push(
      `  ${name}:`,
      `    image: 127.0.0.1:5000/acme/${name}`,
      `    tag: ${svc.tag ?? "1-develop"}`,
      `    dependsOn: ${JSON.stringify(svc.dependsOn ?? [])}`,
      "    ports: [{ container: 8080 }]",
    );
    if (svc.template !== undefined) {
      await writeFile(path.join(dir, "templates", `${name}.yaml.hbs`), svc.template);
      lines.push(`    templates: { kubernetes: templates/${name}.yaml.hbs }`);
    }
  }
  await writeFile(path.join(dir, "sysconfig.yaml"), `${lines.join("\n")}\n`);
  const config = await loadConfig(dir);
  await writeRendered(dir, await findStale(dir, await renderAll(dir, config, "master")));
}

export interface KubeRun {
  outcome?: ReconcileOutcome;
  error?: unknown;
  target: KubernetesTarget;
}

/** One plan or reconcile in process through the real pipeline; the target stays readable afterwards. */
export async function kubeReconcile(
  repo: string,
  request: Partial<ReconcileRequest> = {},
  options: { env?: NodeJS.ProcessEnv; tuning?: Partial<KubernetesTuning>; reporter?: Reporter } = {},
): Promise<KubeRun> {
  let target: KubernetesTarget | undefined;
  const run: Partial<KubeRun> = {};
  try {
    run.outcome = await runReconcile(
      {
        repo,
        environment: "master",
        planOnly: false,
        guard: { allowMassDelete: false },
        wait: false,
        timeoutSeconds: 20,
        waitLock: false,
        lockOwner: "jest",
        ...request,
      },
      {
        createTarget: async (config: TargetConfig, targetOptions) => {
          if (config.kind !== "kubernetes") throw new Error(`expected kubernetes, got ${config.kind}`);
          target = await createKubernetesTarget(config, targetOptions, { pollMs: 200, ...options.tuning });
          return target;
        },
        // A failed run throws: keep what it planned and applied anyway.
        onPlan: (planned) => {
          run.outcome ??= planned;
        },
        onResult: (outcome) => {
          run.outcome = outcome;
        },
        reporter: options.reporter ?? silentReporter,
        env: { ...process.env, KUBERNETES_SERVICE_HOST: "", ...options.env },
      },
    );
  } catch (error) {
    run.error = error;
  }
  if (!target) throw run.error instanceof Error ? run.error : new Error("no target was created");
  return { ...run, target };
}
