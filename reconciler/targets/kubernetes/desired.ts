// Kubernetes objects from the rendered multi-document YAML (`rendered/<service>.yaml`): each document
// validated, its namespace defaulted, sysconfig's owner labels and hash annotation added. Pure: no I/O.
import { createHash } from "node:crypto";
import { loadAll, YAMLException } from "js-yaml";
import { stringify } from "yaml";
import { InvalidInputError, reasonOf } from "../../errors.js";
import type { DesiredObject, DesiredState } from "../../model.js";
import { shown } from "../../text/escape.js";
import { maskYamlSecrets } from "../../text/mask.js";
import { orderWithinService } from "./order.js";
import { kindInfo, kindKey, supportedKinds, type KindInfo } from "./kinds.js";

/** A Kubernetes object as plain JSON data. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [field: string]: unknown;
}

export interface KubeMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  [field: string]: unknown;
}

/** Owner labels (selectable) and annotations sysconfig puts on everything it applies. */
export const LABEL = {
  managedBy: "app.kubernetes.io/managed-by",
  system: "sysconfig.io/system",
  environment: "sysconfig.io/environment",
  service: "sysconfig.io/service",
} as const;
export const ANNOTATION = {
  /** SHA-256 of the manifest sysconfig last applied (owner labels included, these annotations not). */
  hash: "sysconfig.io/hash",
  /** Config-repo commit of the last apply; not part of the hash, ignored by comparisons. */
  revision: "sysconfig.io/revision",
} as const;
export const MANAGED_BY = "sysconfig";

/** Who owns what: one system in one environment (config branch). */
export interface OwnerScope {
  system: string;
  environment: string;
}

/** What apply() needs for one desired object. */
export interface KubernetesDesiredSpec {
  kind: KindInfo;
  namespace: string | undefined;
  name: string;
  /** The manifest sent by server-side apply: labels, hash and revision annotations included. */
  manifest: KubeObject;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** Label values allow 63 characters of [A-Za-z0-9._-]: branch names like `release/1.2` get a digest. */
export function environmentLabel(environment: string): string {
  if (LABEL_VALUE.test(environment)) return environment;
  return `env-${createHash("sha256").update(environment).digest("hex").slice(0, 16)}`;
}

/** `kubernetes:apps/v1/Deployment/shop/web`, `kubernetes:v1/Namespace/shop`. */
export function subjectOf(
  apiVersion: string,
  kind: string,
  namespace: string | undefined,
  name: string,
): string {
  return `kubernetes:${kindKey(apiVersion, kind)}/${namespace === undefined ? "" : `${namespace}/`}${name}`;
}

/** The selector that lists exactly one system's objects in one environment. */
export function ownerSelector(scope: OwnerScope): string {
  return `${LABEL.system}=${scope.system},${LABEL.environment}=${environmentLabel(scope.environment)}`;
}

export function isOwned(object: { metadata: KubeMetadata }, scope: OwnerScope): boolean {
  const labels = object.metadata.labels ?? {};
  return (
    labels[LABEL.system] === scope.system && labels[LABEL.environment] === environmentLabel(scope.environment)
  );
}

/** Deterministic JSON: object keys sorted, so equal data gives equal text and equal hashes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** Readable YAML of an object, keys sorted, Secret values masked: what plans show. */
export function objectText(object: unknown): string {
  return maskYamlSecrets(stringify(sortKeys(object), { lineWidth: 0 }));
}

/**
 * Makes `text` computed on first read: plans show it only for updates, and rendering YAML for a
 * thousand unchanged objects would be most of a no-op's time. Assigning it still works.
 */
export function lazyText(object: { text: string }, make: () => string): void {
  let cached: string | undefined;
  Object.defineProperty(object, "text", {
    get: () => (cached ??= make()),
    set: (value: string) => {
      cached = value;
    },
    enumerable: true,
    configurable: true,
  });
}

export function kubernetesDesiredObjects(state: DesiredState): DesiredObject[] {
  const scope: OwnerScope = { system: state.system, environment: state.environment };
  const namespace = state.target.kind === "kubernetes" ? state.target.namespace : "default";
  const objects: DesiredObject[] = [];
  for (const file of state.files) {
    const manifests = parseManifests(file.path, file.content, namespace);
    const dependsOn = [...(state.services[file.service]?.dependsOn ?? [])];
    manifests.forEach(({ info, object }, index) => {
      const desired = withOwnership(object, scope, file.service, state.revision);
      const spec: KubernetesDesiredSpec = {
        kind: info,
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        manifest: desired.manifest,
      };
      const entry: DesiredObject = {
        subject: subjectOf(info.apiVersion, info.kind, spec.namespace, spec.name),
        name: spec.namespace === undefined ? spec.name : `${spec.namespace}/${spec.name}`,
        service: file.service,
        text: "",
        hash: desired.hash,
        dependsOn,
        spec,
      };
      lazyText(entry, () => objectText(withoutRevision(desired.manifest)));
      orderWithinService(entry, info, index, manifests.length);
      objects.push(entry);
    });
  }
  return objects;
}

/** The manifest with owner labels and annotations, and the hash recorded in it. */
export function withOwnership(
  object: KubeObject,
  scope: OwnerScope,
  service: string,
  revision: string,
): { manifest: KubeObject; hash: string } {
  const labeled: KubeObject = {
    ...object,
    metadata: {
      ...object.metadata,
      labels: {
        ...object.metadata.labels,
        [LABEL.managedBy]: MANAGED_BY,
        [LABEL.system]: scope.system,
        [LABEL.environment]: environmentLabel(scope.environment),
        [LABEL.service]: service,
      },
    },
  };
  const annotations = { ...labeled.metadata.annotations };
  delete annotations[ANNOTATION.hash];
  delete annotations[ANNOTATION.revision];
  if (Object.keys(annotations).length > 0) labeled.metadata.annotations = annotations;
  else delete labeled.metadata.annotations;
  const hash = `sha256:${createHash("sha256").update(canonicalJson(labeled)).digest("hex")}`;
  const manifest: KubeObject = {
    ...labeled,
    metadata: {
      ...labeled.metadata,
      annotations: { ...annotations, [ANNOTATION.hash]: hash, [ANNOTATION.revision]: revision },
    },
  };
  return { manifest, hash };
}

/** A copy without the revision annotation (it changes on every commit and is never compared). */
export function withoutRevision<T extends { metadata?: unknown }>(object: T): T {
  const metadata = object.metadata as KubeMetadata | undefined;
  if (!metadata?.annotations || !(ANNOTATION.revision in metadata.annotations)) return object;
  const annotations = { ...metadata.annotations };
  delete annotations[ANNOTATION.revision];
  return { ...object, metadata: { ...metadata, annotations } };
}

/** Parses a rendered file's documents; empty documents (comments only) are skipped. */
export function parseManifests(
  path: string,
  content: string,
  defaultNamespace: string,
): { info: KindInfo; object: KubeObject }[] {
  if (!path.endsWith(".yaml")) {
    throw new InvalidInputError(
      `${path} is not a Kubernetes manifest: this branch's rendered files were made for another target ` +
        `kind. Render the branch for kubernetes (environment target kind: kubernetes) and rebuild.`,
    );
  }
  let documents: unknown[];
  try {
    // js-yaml: YAML 1.2 core schema, duplicate keys refused; about ten times faster than the yaml
    // package on manifests, which matters when a no-op reads a thousand of them.
    documents = loadAll(content, { filename: path, maxAliases: MAX_ALIASES });
  } catch (error) {
    const where = error instanceof YAMLException && error.mark ? `${path} line ${error.mark.line + 1}` : path;
    const reason = error instanceof YAMLException ? error.reason : reasonOf(error);
    throw new InvalidInputError(`${where} is not valid YAML: ${reason}. Fix the template and re-render.`);
  }
  const out: { info: KindInfo; object: KubeObject }[] = [];
  documents.forEach((data, index) => {
    if (data === null || data === undefined) return;
    const where = `${path} (document ${index + 1})`;
    if (expandedSize(data, MAX_NODES) > MAX_NODES) {
      throw new InvalidInputError(
        `${where}: its aliases expand to more than ${MAX_NODES} values (a YAML alias bomb?). Fix the template and re-render.`,
      );
    }
    out.push(validate(data, where, defaultNamespace));
  });
  return out;
}

/** Aliases in one rendered file, and values in one document with its aliases expanded. */
const MAX_ALIASES = 1000;
const MAX_NODES = 200_000;

/** Values in `data` counting each alias's target again, as hashing and diffing will; stops past `limit`. */
function expandedSize(data: unknown, limit: number): number {
  let count = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0 && count <= limit) {
    const value = stack.pop();
    count += 1;
    if (typeof value === "object" && value !== null)
      stack.push(...Object.values(value as Record<string, unknown>));
  }
  return count;
}

function validate(
  data: unknown,
  where: string,
  defaultNamespace: string,
): { info: KindInfo; object: KubeObject } {
  const fail = (what: string): never => {
    throw new InvalidInputError(`${where}: ${what}. Fix the template and re-render.`);
  };
  if (typeof data !== "object" || Array.isArray(data) || data === null)
    return fail("expected a mapping (a Kubernetes object)");
  const raw = data as Record<string, unknown>;
  const { apiVersion, kind } = raw;
  if (typeof apiVersion !== "string" || typeof kind !== "string")
    return fail("apiVersion and kind must be strings");
  const info = kindInfo(apiVersion, kind);
  if (!info) {
    return fail(
      `${shown(apiVersion)} ${shown(kind)} is not a kind sysconfig manages (it knows ${supportedKinds().join(", ")}); ` +
        `use one of those API versions`,
    );
  }
  const metadata = raw.metadata;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
    return fail("metadata must be a mapping");
  const meta = { ...(metadata as KubeMetadata) };
  if (typeof meta.name !== "string" || !NAME.test(meta.name)) {
    return fail(
      `metadata.name must be a DNS name (lowercase letters, digits, '-' and '.'), got ${meta.name === undefined ? "nothing" : shown(JSON.stringify(meta.name))}`,
    );
  }
  if (info.namespaced) {
    meta.namespace ??= defaultNamespace;
    if (typeof meta.namespace !== "string" || !NAME.test(meta.namespace))
      return fail(`metadata.namespace is not a namespace name`);
  } else if (meta.namespace !== undefined) {
    return fail(`${kind} is cluster-scoped: remove metadata.namespace`);
  }
  for (const field of ["labels", "annotations"] as const) {
    const map = meta[field];
    if (map === undefined) continue;
    if (typeof map !== "object" || map === null || Object.values(map).some((v) => typeof v !== "string")) {
      return fail(`metadata.${field} must map names to strings (quote numbers and booleans)`);
    }
  }
  for (const field of ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"]) {
    if (field in meta) return fail(`metadata.${field} is set by the API server; remove it`);
  }
  const object = { ...raw, metadata: meta } as KubeObject;
  delete object.status;
  if (kind === "Secret") encodeStringData(object);
  return { info, object };
}

/** Secret stringData → data (base64), as the API server stores it, so live and desired compare equal. */
function encodeStringData(secret: KubeObject): void {
  const stringData = secret.stringData as Record<string, unknown> | undefined;
  if (stringData === undefined) return;
  const data = { ...(secret.data as Record<string, string> | undefined) };
  for (const [key, value] of Object.entries(stringData))
    data[key] = Buffer.from(String(value)).toString("base64");
  secret.data = data;
  delete secret.stringData;
}
