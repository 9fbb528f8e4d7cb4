import { describe, expect, it } from "@jest/globals";
import { InvalidInputError } from "../reconciler/errors.js";
import type { DesiredState } from "../reconciler/model.js";
import { classifyHealth, healthCollections } from "../reconciler/targets/kubernetes/wait.js";
import {
  diffForm,
  fieldDrift,
  projectOnto,
  withoutOmitted,
} from "../reconciler/targets/kubernetes/compare.js";
import {
  ANNOTATION,
  environmentLabel,
  kubernetesDesiredObjects,
  LABEL,
  parseDesiredDocuments,
  type KubeObject,
  type KubernetesDesiredSpec,
} from "../reconciler/targets/kubernetes/desired.js";
import { checkKubernetesManifests } from "../reconciler/targets/kubernetes/check-offline.js";

const DEPLOYMENT = `# comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { app: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: registry/web:1-develop
          env:
            - { name: DB_PASSWORD, value: "hunter2-secret" }
          ports:
            - { containerPort: 8080, protocol: TCP }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports:
    - { name: http, port: 80, targetPort: 8080, protocol: TCP }
`;

const state = (
  files: { path: string; service: string; content: string }[],
  revision = "abc123",
): DesiredState => ({
  system: "acme",
  environment: "master",
  revision,
  target: { kind: "kubernetes", namespace: "shop" },
  services: {},
  files,
});

describe("kubernetes desired objects", () => {
  it("turns each document into an object in the environment's namespace with owner labels and a hash", () => {
    const objects = kubernetesDesiredObjects(
      state([{ path: "rendered/web.yaml", service: "web", content: DEPLOYMENT }]),
    );
    expect(objects.map((o) => o.subject)).toEqual([
      "kubernetes:apps/v1/Deployment/shop/web",
      "kubernetes:v1/Service/shop/web",
    ]);
    const manifest = (objects[0]?.spec as KubernetesDesiredSpec).manifest;
    expect(manifest.metadata.namespace).toBe("shop");
    expect(manifest.metadata.labels).toEqual({
      app: "web",
      [LABEL.managedBy]: "sysconfig",
      [LABEL.system]: "acme",
      [LABEL.environment]: "master",
      [LABEL.service]: "web",
    });
    expect(manifest.metadata.annotations?.[ANNOTATION.hash]).toBe(objects[0]?.hash);
    expect(manifest.metadata.annotations?.[ANNOTATION.revision]).toBe("abc123");
  });

  it("orders a service's objects by kind: the Service before the Deployment", () => {
    const objects = kubernetesDesiredObjects(
      state([{ path: "rendered/web.yaml", service: "web", content: DEPLOYMENT }]),
    );
    const [deployment, service] = objects;
    expect(deployment?.rollGroup).toBe(service?.rollGroup);
    expect(service?.rollIndex ?? 0).toBeLessThan(deployment?.rollIndex ?? 0);
  });

  it("gives the same hash for another revision, and a different one when the manifest changes", () => {
    const a = kubernetesDesiredObjects(
      state([{ path: "rendered/web.yaml", service: "web", content: DEPLOYMENT }], "r1"),
    );
    const b = kubernetesDesiredObjects(
      state([{ path: "rendered/web.yaml", service: "web", content: DEPLOYMENT }], "r2"),
    );
    const c = kubernetesDesiredObjects(
      state([
        {
          path: "rendered/web.yaml",
          service: "web",
          content: DEPLOYMENT.replace("replicas: 2", "replicas: 3"),
        },
      ]),
    );
    expect(a[0]?.hash).toBe(b[0]?.hash);
    expect(c[0]?.hash).not.toBe(a[0]?.hash);
  });

  it("never shows env values of secret-looking names or Secret data in the plan text", () => {
    const secret = `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData:\n  password: hunter2-secret\n`;
    const objects = kubernetesDesiredObjects(
      state([
        { path: "rendered/web.yaml", service: "web", content: DEPLOYMENT },
        { path: "rendered/db.yaml", service: "db", content: secret },
      ]),
    );
    for (const o of objects) expect(o.text).not.toContain("hunter2");
    for (const o of objects) expect(o.text).not.toContain(Buffer.from("hunter2-secret").toString("base64"));
    const manifest = (objects[2]?.spec as KubernetesDesiredSpec).manifest;
    expect(manifest.data).toEqual({ password: Buffer.from("hunter2-secret").toString("base64") });
    expect(manifest.stringData).toBeUndefined();
  });

  it.each([
    [
      "a kind neither built in nor defined by a CRD in the config (offline)",
      "apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: x }\n",
      /example.com\/v1 Widget is not a built-in kind/,
    ],
    [
      "a bad name",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: Bad_Name }\n",
      /metadata.name must be a DNS name/,
    ],
    [
      "a namespaced cluster object",
      "apiVersion: v1\nkind: Namespace\nmetadata: { name: a, namespace: b }\n",
      /cluster-scoped/,
    ],
    [
      "a server field",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, uid: x }\n",
      /metadata.uid is set by the API server/,
    ],
    [
      "a numeric label",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, labels: { n: 1 } }\n",
      /quote numbers/,
    ],
  ])("refuses %s with the file and document named (exit 3)", (_what, content, message) => {
    const run = () => kubernetesDesiredObjects(state([{ path: "rendered/x.yaml", service: "x", content }]));
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(message);
    expect(run).toThrow(/rendered\/x.yaml \(document 1\)/);
  });

  it.each([
    ["broken YAML", "apiVersion: v1\nkind: [\n", "rendered/x.yaml line 3 is not valid YAML: "],
    [
      "a duplicate key",
      "apiVersion: v1\nkind: ConfigMap\nkind: Secret\n",
      "line 3 is not valid YAML: duplicated mapping key",
    ],
  ])("refuses %s naming the file and line (exit 3)", (_what, content, message) => {
    const run = () => kubernetesDesiredObjects(state([{ path: "rendered/x.yaml", service: "x", content }]));
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(message);
  });

  it("refuses a YAML alias bomb before hashing it, naming the document (exit 3)", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      levels.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const content = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\ndata:\n  ${levels.join("\n  ")}\n`;
    const run = () => kubernetesDesiredObjects(state([{ path: "rendered/x.yaml", service: "x", content }]));
    expect(run).toThrow(/rendered\/x.yaml \(document 1\): its aliases expand to more than 200000 values/);
  });

  it("keeps branch names that are not label values apart with a digest", () => {
    expect(environmentLabel("master")).toBe("master");
    expect(environmentLabel("release/1.2")).toMatch(/^env-[0-9a-f]{16}$/);
    expect(environmentLabel("release/1.2")).not.toBe(environmentLabel("release/1.3"));
  });
});

describe("kubernetes field comparison", () => {
  it("shows a reconcile's diff on the fields sysconfig sets only: no server defaults, no omitted zero values", () => {
    const manifest: KubeObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        template: {
          spec: {
            containers: [
              { name: "web", image: "web:2", env: [], readinessProbe: { initialDelaySeconds: 0 } },
            ],
          },
        },
      },
    };
    const live: KubeObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", uid: "u1" },
      spec: {
        progressDeadlineSeconds: 600,
        template: {
          spec: {
            containers: [
              {
                name: "web",
                image: "web:1",
                imagePullPolicy: "IfNotPresent",
                readinessProbe: { periodSeconds: 10 },
              },
            ],
          },
        },
      },
    };
    expect(projectOnto(live, manifest)).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { template: { spec: { containers: [{ name: "web", image: "web:1", readinessProbe: {} }] } } },
    });
    expect(withoutOmitted(manifest, live)).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { template: { spec: { containers: [{ name: "web", image: "web:2", readinessProbe: {} }] } } },
    });
  });

  const desired: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", annotations: { [ANNOTATION.revision]: "new" } },
    spec: {
      replicas: 2,
      template: { spec: { containers: [{ name: "web", ports: [{ containerPort: 8080 }] }] } },
    },
  };
  it("ignores fields the server defaulted and the revision annotation", () => {
    const live: KubeObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", uid: "u", annotations: { [ANNOTATION.revision]: "old" } },
      spec: {
        replicas: 2,
        strategy: { type: "RollingUpdate" },
        template: {
          spec: { containers: [{ name: "web", ports: [{ containerPort: 8080, protocol: "TCP" }] }] },
        },
      },
    };
    expect(fieldDrift(desired, live)).toEqual([]);
  });
  it("names a field changed by hand with both values", () => {
    const live: KubeObject = { ...desired, spec: { ...(desired.spec as object), replicas: 5 } };
    expect(fieldDrift(desired, live)).toEqual(["spec.replicas is 5, sysconfig sets 2"]);
  });
  it("says a Secret value differs without printing it", () => {
    const secret: KubeObject = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      data: { p: "YQ==" },
    };
    expect(fieldDrift(secret, { ...secret, data: { p: "Yg==" } })).toEqual(["data.p differs"]);
  });
  it("strips server metadata and status from the diff form", () => {
    const live: KubeObject = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s", resourceVersion: "9", managedFields: [], generation: 2, uid: "u" },
      status: { loadBalancer: {} },
    };
    expect(diffForm(live)).toEqual({ apiVersion: "v1", kind: "Service", metadata: { name: "s" } });
  });
});

describe("kubernetes rollout health", () => {
  const objects = kubernetesDesiredObjects(
    state([{ path: "rendered/web.yaml", service: "web", content: DEPLOYMENT }]),
  );
  const changes = objects.map((desired) => ({
    action: "update" as const,
    subject: desired.subject,
    desired,
    notes: [],
  }));
  const deployment = (status: Record<string, unknown>, generation = 2): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop", generation },
    spec: { replicas: 2 },
    status,
  });
  const check = (live: KubeObject[], applied = 2) =>
    classifyHealth(
      changes,
      new Map([["apps/v1/Deployment@shop", live]]),
      new Map([[changes[0]?.subject ?? "", applied]]),
    );

  it("lists only the collections that hold workloads", () => {
    expect(healthCollections(changes)).toEqual(["apps/v1/Deployment@shop"]);
  });
  it("is healthy once the new generation is rolled out and available; a Service at once", () => {
    const result = check([
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
    ]);
    expect(result.get("kubernetes:apps/v1/Deployment/shop/web")).toEqual({ state: "healthy" });
    expect(result.get("kubernetes:v1/Service/shop/web")).toEqual({ state: "healthy" });
  });
  it("waits for the controller to see the applied generation", () => {
    const result = check([
      deployment({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
    ]);
    expect(result.get("kubernetes:apps/v1/Deployment/shop/web")).toEqual({
      state: "pending",
      reason: "waiting for the controller to observe generation 2 (seen 1)",
    });
  });
  it("says how many replicas are not available yet", () => {
    const result = check([
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }),
    ]);
    expect(result.get("kubernetes:apps/v1/Deployment/shop/web")).toEqual({
      state: "pending",
      reason: "1 of 2 updated replicas available",
    });
  });
  it("fails a rollout past its progress deadline with the controller's reason", () => {
    const result = check([
      deployment({
        observedGeneration: 2,
        conditions: [
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: 'ReplicaSet "web-1" has timed out progressing.',
          },
        ],
      }),
    ]);
    expect(result.get("kubernetes:apps/v1/Deployment/shop/web")).toEqual({
      state: "failed",
      reason: 'rollout stalled (ProgressDeadlineExceeded): ReplicaSet "web-1" has timed out progressing.',
    });
  });
  it("is pending while the object is not listed yet", () => {
    expect(check([]).get("kubernetes:apps/v1/Deployment/shop/web")?.state).toBe("pending");
  });
});

describe("one parse of a run's rendered files", () => {
  it("the offline check and the target's prepare share it (a second parse cost ~1 s CPU at 2,000 objects)", () => {
    const files = [{ path: "rendered/web.yaml", service: "web", content: DEPLOYMENT }];
    const checked = state(files);
    checkKubernetesManifests(checked);
    // The pipeline checks the loaded files, then builds the run's state around the same list.
    const documents = parseDesiredDocuments({ ...checked, revision: "other" });
    expect(parseDesiredDocuments(checked)).toBe(documents);
    expect(Object.isFrozen(documents)).toBe(true);
    // Other files (another run, a re-render) are parsed on their own.
    expect(parseDesiredDocuments(state([...files]))).not.toBe(documents);
  });
});
