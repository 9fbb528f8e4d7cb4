// The deployment files in sysconfig-example/deploy/: the fleet timer pair is accepted by the fake fleetd
// with the [X-Fleet] option that keeps it on one machine; the Docker-host units parse and run real
// flags; the Kubernetes serve manifests hang together (probes, ports, secret path, service account).
// The Kubernetes files are applied to a real API server by the Kubernetes target's tests.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { parseUnitFile, type UnitOption } from "../reconciler/targets/fleet/unit-file.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { ROOT, runCli } from "./helpers/cli.js";

const DEPLOY = path.join(ROOT, "sysconfig-example/deploy");
const example = parse(await readFile(path.join(ROOT, "sysconfig-example/sysconfig.yaml"), "utf8")) as {
  image: string;
  environments: Record<string, { target: { kind: string; endpoint?: string } }>;
};

const unit = async (file: string): Promise<UnitOption[]> =>
  parseUnitFile(await readFile(path.join(DEPLOY, file), "utf8"));
const value = (options: UnitOption[], section: string, name: string): string[] =>
  options.filter((o) => o.section === section && o.name === name).map((o) => o.value);

/** The flags `sysconfig <command> --help` lists: every --flag used in a deployment file must be one. */
async function flagsOf(command: string): Promise<Set<string>> {
  const help = await runCli([command, "--help"]);
  expect(help.code).toBe(0);
  return new Set(help.stdout.match(/--[a-z][a-z-]+/g) ?? []);
}

/** The words after the image in a `docker run … IMAGE args…` command line. */
function argsAfter(command: string, image: string): string[] {
  const rest = command.slice(command.indexOf(image) + image.length).replace(/'$/, "");
  return (rest.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ""));
}

describe("fleet timer pair", () => {
  let fleet: FakeFleetServer;
  beforeAll(async () => {
    fleet = await startFleetServer();
  });
  afterAll(async () => {
    await fleet.close();
  });

  it("is accepted by the fleet API (service loaded, timer launched) with MachineOf= binding the timer to the service", async () => {
    const put = async (name: string, options: UnitOption[], desiredState: string) => {
      const res = await fetch(`${fleet.endpoint}/fleet/v1/units/${encodeURIComponent(name)}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name, desiredState, options }),
      });
      return res.status;
    };
    const service = await unit("fleet/sysconfig-reconcile.service");
    const timer = await unit("fleet/sysconfig-reconcile.timer");
    expect(await put("sysconfig-reconcile.service", service, "loaded")).toBe(201);
    expect(await put("sysconfig-reconcile.timer", timer, "launched")).toBe(201);

    const stored = (await (
      await fetch(`${fleet.endpoint}/fleet/v1/units/sysconfig-reconcile.timer`)
    ).json()) as {
      options: UnitOption[];
      desiredState: string;
    };
    expect(stored.desiredState).toBe("launched");
    expect(value(stored.options, "X-Fleet", "MachineOf")).toEqual(["sysconfig-reconcile.service"]);
    expect(value(stored.options, "Timer", "Unit")).toEqual(["sysconfig-reconcile.service"]);
    expect(value(stored.options, "Timer", "OnUnitInactiveSec")).toEqual(["5min"]);
    const state = (await (await fetch(`${fleet.endpoint}/fleet/v1/state`)).json()) as {
      states: { name: string; systemdActiveState: string }[];
    };
    expect(state.states.find((s) => s.name === "sysconfig-reconcile.timer")?.systemdActiveState).toBe(
      "active",
    );
  });

  it("runs the staging config image, a oneshot reconcile over the mounted fleet socket, with real flags", async () => {
    const service = await unit("fleet/sysconfig-reconcile.service");
    expect(value(service, "Service", "Type")).toEqual(["oneshot"]);
    const [execStart = ""] = value(service, "Service", "ExecStart");
    const staging = example.environments.staging;
    expect(staging?.target.kind).toBe("fleet");
    const socket = (staging?.target.endpoint ?? "").replace(/^unix:\/\//, "");
    expect(execStart).toContain(`-v ${socket}:${socket}`);
    const image = `${example.image}:staging`;
    expect(execStart).toContain(image);
    const [command, ...args] = argsAfter(execStart, image);
    expect(command).toBe("reconcile");
    const known = await flagsOf("reconcile");
    for (const flag of args.filter((a) => a.startsWith("--"))) expect(known).toContain(flag);
  });
});

describe("Docker-host units", () => {
  it("parse as systemd units without fleet options, run the develop image with the socket's group, and use real flags", async () => {
    const develop = example.environments.develop;
    expect(develop?.target.kind).toBe("docker");
    const image = `${example.image}:develop`;
    for (const [file, command] of [
      ["docker-host/sysconfig-reconcile.service", "reconcile"],
      ["docker-host/sysconfig-serve.service", "serve"],
    ] as const) {
      const options = await unit(file);
      expect(options.filter((o) => o.section === "X-Fleet")).toEqual([]);
      const [execStart = ""] = value(options, "Service", "ExecStart");
      expect(execStart).toContain("-v /var/run/docker.sock:/var/run/docker.sock");
      // systemd's escapes: $$ and %% reach sh as $ and %.
      expect(execStart).toContain('--group-add "$$(stat -c %%g /var/run/docker.sock)"');
      const [first, ...args] = argsAfter(execStart, image);
      expect(first).toBe(command);
      const known = await flagsOf(command);
      for (const flag of args.filter((a) => a.startsWith("--"))) expect(known).toContain(flag);
    }
    const timer = await unit("docker-host/sysconfig-reconcile.timer");
    expect(value(timer, "Timer", "Unit")).toEqual(["sysconfig-reconcile.service"]);
    const serve = await unit("docker-host/sysconfig-serve.service");
    const grace = Number(/--grace-period (\d+)/.exec(value(serve, "Service", "ExecStart")[0] ?? "")?.[1]);
    const stopAfter = Number(/--time (\d+)/.exec(value(serve, "Service", "ExecStop")[0] ?? "")?.[1]);
    expect(stopAfter).toBeGreaterThan(grace);
  });
});

describe("Kubernetes serve manifests", () => {
  interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    [key: string]: unknown;
  }
  let docs: Manifest[];
  beforeAll(async () => {
    const text = await readFile(path.join(DEPLOY, "kubernetes/serve.yaml"), "utf8");
    const parsed = parseAllDocuments(text);
    for (const d of parsed) expect(d.errors).toEqual([]);
    docs = parsed.map((d) => d.toJS() as Manifest).filter((d) => d !== null);
  });
  const one = <T>(kind: string) => docs.find((d) => d.kind === kind) as unknown as T & Manifest;

  it("holds a ServiceAccount, the webhook Secret, the Deployment and its Service, all in the master environment's namespace", () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      "v1 ServiceAccount",
      "v1 Secret",
      "apps/v1 Deployment",
      "v1 Service",
    ]);
    const master = parse(JSON.stringify(example.environments.master)) as {
      target: { kind: string; namespace: string };
    };
    expect(master.target.kind).toBe("kubernetes");
    for (const d of docs) expect(d.metadata.namespace).toBe(master.target.namespace);
  });

  it("wires probes, ports, the secret file, the service account and the grace period together", async () => {
    type Container = {
      image: string;
      args: string[];
      ports: { name: string; containerPort: number }[];
      livenessProbe: { httpGet: { path: string; port: string } };
      readinessProbe: { httpGet: { path: string; port: string } };
      volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
      env: { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } }[];
    };
    const deployment = one<{
      spec: {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            serviceAccountName: string;
            terminationGracePeriodSeconds: number;
            securityContext: { runAsUser: number; runAsNonRoot: boolean; fsGroup: number };
            containers: Container[];
            volumes: {
              name: string;
              secret?: { secretName: string; items: { key: string; path: string }[] };
            }[];
          };
        };
      };
    }>("Deployment");
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    if (container === undefined) throw new Error("no container");
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.selector.matchLabels).toEqual(
      expect.objectContaining(deployment.spec.template.metadata.labels),
    );
    expect(container.image).toBe(`${example.image}:master`);
    expect(container.args[0]).toBe("serve");
    const arg = (flag: string) => container.args[container.args.indexOf(flag) + 1] ?? "";
    const known = await flagsOf("serve");
    for (const flag of container.args.filter((a) => a.startsWith("--"))) expect(known).toContain(flag);

    const port = Number(arg("--listen").split(":")[1]);
    expect(arg("--listen").startsWith("0.0.0.0:")).toBe(true); // the kubelet probes the pod's IP
    expect(container.ports).toEqual([expect.objectContaining({ name: "http", containerPort: port })]);
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(probe.httpGet).toEqual({ path: "/healthz", port: "http" });
    }
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(arg("--grace-period")));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });

    const secretFile = arg("--webhook-secret-file");
    const mount = container.volumeMounts.find((m) => secretFile.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes.find((v) => v.name === mount?.name);
    const secret = one<{ stringData: Record<string, string> }>("Secret");
    expect(volume?.secret?.secretName).toBe(secret.metadata.name);
    const item = volume?.secret?.items.find((i) => `${mount?.mountPath}/${i.path}` === secretFile);
    expect(Object.keys(secret.stringData)).toContain(item?.key);
    const notify = container.env.find((e) => e.name === "SYSCONFIG_NOTIFY_URL")?.valueFrom.secretKeyRef;
    expect(notify?.name).toBe(secret.metadata.name);
    expect(Object.keys(secret.stringData)).toContain(notify?.key);

    expect(pod.serviceAccountName).toBe(one<object>("ServiceAccount").metadata.name);
    const service = one<{ spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>(
      "Service",
    );
    expect(deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(service.spec.selector));
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(["http"]);
  });
});
