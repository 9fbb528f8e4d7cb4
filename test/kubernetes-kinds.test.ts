// Resolving manifests' kinds without a server: kinds defined by the config's own CRDs, fallback API
// versions, scope rules, apply ranks; parsing discovery and inventories. Literals only.
import { describe, expect, it } from "@jest/globals";
import { InvalidInputError } from "../reconciler/errors.js";
import type { ActualObject, DesiredState } from "../reconciler/model.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { DeleteOrder } from "../reconciler/targets/kubernetes/delete-order.js";
import {
  builtinResolver,
  kubernetesDesiredObjects,
  type KindResolver,
  type KubernetesDesiredSpec,
} from "../reconciler/targets/kubernetes/desired.js";
import { parseGroupList } from "../reconciler/targets/kubernetes/discovery.js";
import { parseInventory } from "../reconciler/targets/kubernetes/inventory.js";
import { builtinKind } from "../reconciler/targets/kubernetes/kinds.js";

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: greetings.acme.example.com }
spec:
  group: acme.example.com
  scope: Namespaced
  names: { kind: Greeting, plural: greetings, singular: greeting, listKind: GreetingList }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;
const GREETING =
  "apiVersion: acme.example.com/v1\nkind: Greeting\nmetadata: { name: hi }\nspec: { text: hello }\n";
const PDB =
  "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: worker\n" +
  "  annotations: { sysconfig.io/fallback-api-versions: policy/v1beta1 }\nspec: { minAvailable: 1 }\n";

const state = (
  files: { path: string; service: string; content: string }[],
  services: Record<string, string[]> = {},
): DesiredState => ({
  system: "acme",
  environment: "master",
  revision: "abc",
  target: { kind: "kubernetes", namespace: "shop" },
  services: Object.fromEntries(
    Object.entries(services).map(([name, dependsOn]) => [name, { dependsOn }]),
  ) as never,
  files,
});

/** A server that serves only these versions of built-in kinds. */
const serving = (...apiVersions: string[]): KindResolver => ({
  resolve: (apiVersion, kind) =>
    apiVersions.includes(apiVersion)
      ? (builtinKind(apiVersion, kind) ?? `${kind} unknown`)
      : `${apiVersion} not served`,
});

describe("kubernetes kinds without discovery", () => {
  it("knows a custom kind from a CRD in the same service: the CRD in the service's roll, the object beside it", () => {
    const objects = kubernetesDesiredObjects(
      state([{ path: "rendered/hello.yaml", service: "hello", content: `${GREETING}---\n${CRD}` }]),
    );
    const [greeting, crd] = objects;
    expect(greeting?.subject).toBe("kubernetes:acme.example.com/v1/Greeting/shop/hi");
    expect(crd?.subject).toBe(
      "kubernetes:apiextensions.k8s.io/v1/CustomResourceDefinition/greetings.acme.example.com",
    );
    // apply() holds the object until this CRD is Established.
    expect((greeting?.spec as KubernetesDesiredSpec).kind.definedBy).toBe(crd?.subject);
    expect(crd?.rollGroup).toBe("hello/objects");
    expect(greeting?.rollGroup).toBeUndefined();
  });

  it("refuses an object of a CRD rendered by another service it does not depend on, naming the fix (exit 3)", () => {
    const files = [
      { path: "rendered/crds.yaml", service: "crds", content: CRD },
      { path: "rendered/hello.yaml", service: "hello", content: GREETING },
    ];
    const run = () => kubernetesDesiredObjects(state(files, { crds: [], hello: [] }));
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(/Add crds to services.hello.dependsOn/);
    expect(kubernetesDesiredObjects(state(files, { crds: [], hello: ["crds"] }))).toHaveLength(2);
  });

  it("takes the first fallback version a server serves, and names what it serves when none fits", () => {
    const on = (resolver: KindResolver) =>
      kubernetesDesiredObjects(state([{ path: "rendered/w.yaml", service: "w", content: PDB }]), resolver)[0];
    expect(on(serving("policy/v1", "policy/v1beta1"))?.subject).toBe(
      "kubernetes:policy/v1/PodDisruptionBudget/shop/worker",
    );
    const old = on(serving("policy/v1beta1"));
    expect(old?.subject).toBe("kubernetes:policy/v1beta1/PodDisruptionBudget/shop/worker");
    expect((old?.spec as KubernetesDesiredSpec).manifest.apiVersion).toBe("policy/v1beta1");
    expect(() => on(serving("v1"))).toThrow(/policy\/v1 not served/);
  });

  it("refuses a namespace on a cluster-scoped kind (exit 3)", () => {
    const content = CRD.replace(
      "metadata: { name: greetings.acme.example.com }",
      "metadata: { name: g.x, namespace: a }",
    );
    expect(() =>
      kubernetesDesiredObjects(state([{ path: "rendered/c.yaml", service: "c", content }])),
    ).toThrow(/cluster-scoped: remove metadata.namespace/);
  });
});

describe("kubernetes discovery documents", () => {
  it("reads the plain group list, preferred version first", () => {
    const parsed = parseGroupList({
      kind: "APIGroupList",
      groups: [
        {
          name: "policy",
          versions: [{ version: "v1" }, { version: "v1beta1" }],
          preferredVersion: { version: "v1beta1" },
        },
      ],
    });
    expect(parsed.groups.get("policy")?.versions).toEqual(["v1beta1", "v1"]);
    expect(parsed.resources.size).toBe(0);
  });

  it("reads aggregated discovery: every group version's resources in one document", () => {
    const parsed = parseGroupList({
      kind: "APIGroupDiscoveryList",
      items: [
        {
          metadata: { name: "apps" },
          versions: [
            {
              version: "v1",
              resources: [
                {
                  resource: "deployments",
                  responseKind: { kind: "Deployment" },
                  scope: "Namespaced",
                  verbs: ["list"],
                },
                { resource: "deployments/status", responseKind: { kind: "Deployment" }, scope: "Namespaced" },
              ],
            },
          ],
        },
      ],
    });
    expect(parsed.groups.get("apps")?.versions).toEqual(["v1"]);
    expect(parsed.resources.get("apps/v1")).toEqual([
      { plural: "deployments", kind: "Deployment", namespaced: true, verbs: ["list"] },
    ]);
  });

  it("tells a missing inventory from a damaged one", () => {
    expect(parseInventory(undefined).state).toBe("absent");
    expect(parseInventory("not json").state).toBe("damaged");
    expect(parseInventory('["v1/ConfigMap@shop", 3]').state).toBe("damaged");
    expect(parseInventory('["v1/ConfigMap@shop","v1/Namespace@"]')).toEqual({
      state: "present",
      keys: ["v1/ConfigMap@shop", "v1/Namespace@"],
    });
  });
});

describe("builtin resolver", () => {
  it("knows built-in kinds and their scope without a server", () => {
    expect(builtinResolver.resolve("networking.k8s.io/v1", "Ingress")).toMatchObject({
      plural: "ingresses",
      namespaced: true,
      rank: 5,
    });
  });
});

describe("kubernetes delete order", () => {
  const actual = (subject: string, group: string, kind: string): ActualObject => ({
    subject,
    name: subject,
    owned: true,
    service: "hello",
    text: "",
    spec: {
      kind: builtinKind(`${group}/v1`, kind) ?? { rank: 6 },
      namespace: "shop",
      name: "x",
      uid: undefined,
    },
  });
  const crd = actual("crd", "apiextensions.k8s.io", "CustomResourceDefinition");
  const greeting = actual("greeting", "acme.example.com", "Greeting");
  const context = { system: "acme", revision: "r", reporter: silentReporter, deadline: Date.now() + 60_000 };

  it("deletes a CRD only after the service's objects of later kinds were sent", async () => {
    const order = new DeleteOrder();
    order.plan([crd, greeting], new Set());
    let crdGoes = false;
    const waiting = order.before(crd, context).then(() => (crdGoes = true));
    await order.before(greeting, context); // nothing to follow: at once
    await new Promise((r) => setTimeout(r, 20));
    expect(crdGoes).toBe(false);
    order.sent("greeting");
    await waiting;
    expect(crdGoes).toBe(true);
  });

  it("never waits past the deadline for a delete that is not sent", async () => {
    const order = new DeleteOrder();
    order.plan([crd, greeting], new Set());
    const started = Date.now();
    await order.before(crd, { ...context, deadline: Date.now() + 50 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
