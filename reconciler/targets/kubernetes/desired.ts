// Kubernetes objects from the rendered multi-document YAML (`rendered/<service>.yaml`): each document
// validated, its namespace defaulted, sysconfig's owner labels and hash annotation added. Pure: no I/O.
import { createHash } from "node:crypto";
import { dump, loadAll, YAMLException } from "js-yaml";
import { InvalidInputError, reasonOf } from "../../errors.js";
import type { DesiredObject, DesiredState } from "../../model.js";
import { shown } from "../../text/escape.js";
import { maskYamlSecrets } from "../../text/mask.js";
import { orderWithinService } from "./order.js";
import { builtinKind, groupOf, kindKey, rankOf, type KindInfo } from "./kinds.js";
import { sealSecretManifest } from "./secret-values.js";

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
  /**
   * Set by a template: API versions to use, in order, when the server does not serve the manifest's own
   * (`policy/v1beta1` for a `policy/v1` PodDisruptionBudget on Kubernetes 1.20). Same schema required.
   */
  fallbackVersions: "sysconfig.io/fallback-api-versions",
} as const;
export const MANAGED_BY = "sysconfig";

/** Who owns what: one system in one environment (config branch). */
export interface OwnerScope {
  system: string;
  environment: string;
}

/** What a kind is on the API server, or a sentence saying why it cannot be used. */
export interface KindResolver {
  resolve(apiVersion: string, kind: string): KindInfo | string;
}

/** Built-in kinds only, from the table (no server): what `sysconfig rbac` and offline tests use. */
export const builtinResolver: KindResolver = {
  resolve: (apiVersion, kind) =>
    builtinKind(apiVersion, kind) ??
    `${apiVersion} ${kind} is not a built-in kind sysconfig knows without asking the API server`,
};

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

/**
 * Readable YAML of an object, keys sorted, Secret values masked: what plans show. js-yaml's dump, about
 * 2.5 times as fast as the yaml package's stringify: a plan of 2,000 changed objects renders 4,000 of these.
 */
export function objectText(object: unknown): string {
  return maskYamlSecrets(dump(object, TEXT_OPTIONS));
}

const TEXT_OPTIONS = {
  sortKeys: true,
  lineWidth: -1,
  noRefs: true,
  quoteStyle: "double",
  skipInvalid: true,
} as const;

/**
 * Makes `text` computed on first read: plans show it only for updates, and rendering YAML for a
 * thousand unchanged objects would be most of a no-op's time. Assigning it still works.
 */
export function lazyText(object: { text: string }, make: () => string): void {
  let cached: string | undefined;
  // Dropped once used: what it holds (the live object a text is made of) is garbage from then on.
  let maker: (() => string) | undefined = make;
  Object.defineProperty(object, "text", {
    get: () => {
      if (cached === undefined) {
        cached = maker?.() ?? "";
        maker = undefined;
      }
      return cached;
    },
    set: (value: string) => {
      cached = value;
      maker = undefined;
    },
    enumerable: true,
    configurable: true,
  });
}

/** Parses and resolves every rendered file: the objects sysconfig applies (pure; `resolver` says what kinds exist). */
export function kubernetesDesiredObjects(
  state: DesiredState,
  resolver: KindResolver = builtinResolver,
): DesiredObject[] {
  return resolveDesiredObjects(state, parseDesiredDocuments(state), resolver);
}

/** One rendered document, checked for shape but not yet resolved against the API. */
export interface ParsedDocument {
  file: { path: string; service: string };
  /** Position among the file's documents (apply order within a kind). */
  index: number;
  /** Documents in the file (a single object needs no roll group). */
  count: number;
  where: string;
  object: KubeObject;
}

/** Every document of every rendered file, checked for shape (no API knowledge needed). */
export function parseDesiredDocuments(state: DesiredState): readonly ParsedDocument[] {
  const cached = parsedByFiles.get(state.files);
  if (cached !== undefined) return cached;
  const out: ParsedDocument[] = [];
  for (const file of state.files) {
    const documents = parseManifests(file.path, file.content);
    documents.forEach(({ where, object }, index) =>
      out.push({
        file: { path: file.path, service: file.service },
        index,
        count: documents.length,
        where,
        object,
      }),
    );
  }
  parsedByFiles.set(state.files, Object.freeze(out));
  return out;
}

/**
 * Parses of one list of rendered files: the offline check (check-offline.ts) and the target's prepare
 * both parse the files a run loaded, and parsing 2,000 manifests costs most of a no-op's CPU time.
 * Nothing changes a ParsedDocument once made (resolving copies what it settles).
 */
const parsedByFiles = new WeakMap<DesiredState["files"], readonly ParsedDocument[]>();

/** The API versions a set of documents may use (their own and their fallbacks): what discovery must load. */
export function apiVersionsOf(documents: readonly ParsedDocument[]): string[] {
  return [...new Set(documents.flatMap((d) => candidateVersions(d.object)))].sort();
}

/** The manifest's apiVersion, then those its fallback annotation lists, in order. */
export function candidateVersions(object: KubeObject): string[] {
  const fallback = object.metadata.annotations?.[ANNOTATION.fallbackVersions] ?? "";
  const extra = fallback
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
  return [object.apiVersion, ...extra.filter((v) => v !== object.apiVersion)];
}

/** Resolves parsed documents to desired objects: kind, version, scope and namespace settled. Pure. */
export function resolveDesiredObjects(
  state: DesiredState,
  documents: readonly ParsedDocument[],
  resolver: KindResolver,
): DesiredObject[] {
  const scope: OwnerScope = { system: state.system, environment: state.environment };
  const namespace = state.target.kind === "kubernetes" ? state.target.namespace : "default";
  const defined = kindsDefinedByCrds(documents, resolver);
  const namespaceFiles = new Set(
    documents
      .filter((d) => d.object.kind === "Namespace" && d.object.apiVersion === "v1")
      .map((d) => d.file.path),
  );
  const objects: DesiredObject[] = [];
  for (const doc of documents) {
    const dependsOn = [...(state.services[doc.file.service]?.dependsOn ?? [])];
    const { info, object } = resolveDocument(doc, resolver, defined, namespace);
    if (info.definedBy !== undefined) {
      const crdService = documents.find((d) => crdSubject(d.object) === info.definedBy)?.file.service;
      if (
        crdService !== undefined &&
        crdService !== doc.file.service &&
        !dependsOnService(state, doc.file.service, crdService)
      ) {
        throw new InvalidInputError(
          `${doc.where}: ${object.kind} is defined by the CustomResourceDefinition of service ${crdService}, which is ` +
            `not on the server yet; service ${doc.file.service} must be applied after it. Add ${crdService} to ` +
            `services.${doc.file.service}.dependsOn in sysconfig.yaml (or render both in one service).`,
        );
      }
    }
    const desired = withOwnership(
      sealSecretManifest(object, doc.file.path),
      scope,
      doc.file.service,
      state.revision,
    );
    const spec: KubernetesDesiredSpec = {
      kind: info,
      namespace: object.metadata.namespace,
      name: object.metadata.name,
      manifest: desired.manifest,
    };
    const entry: DesiredObject = {
      subject: subjectOf(info.apiVersion, info.kind, spec.namespace, spec.name),
      name: spec.namespace === undefined ? spec.name : `${spec.namespace}/${spec.name}`,
      service: doc.file.service,
      text: "",
      hash: desired.hash,
      dependsOn,
      spec,
    };
    lazyText(entry, () => objectText(withoutRevision(desired.manifest)));
    orderWithinService(entry, info, doc.index, doc.count, namespaceFiles.has(doc.file.path));
    objects.push(entry);
  }
  const seen = new Map<string, string>();
  objects.forEach((o, i) => {
    const where = documents[i]?.where ?? o.service;
    const before = seen.get(o.subject);
    if (before !== undefined) {
      throw new InvalidInputError(
        `${o.subject} is rendered twice (${before} and ${where}): every object must come from one place. ` +
          `Rename one of them in its template and re-render.`,
      );
    }
    seen.set(o.subject, where);
  });
  return objects;
}

/** Is `service` ordered after `other` (directly or through its dependencies)? */
function dependsOnService(state: DesiredState, service: string, other: string): boolean {
  const seen = new Set<string>();
  const stack = [...(state.services[service]?.dependsOn ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (next === other) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(state.services[next]?.dependsOn ?? []));
  }
  return false;
}

function crdSubject(object: KubeObject): string | undefined {
  if (object.kind !== "CustomResourceDefinition" || groupOf(object.apiVersion) !== "apiextensions.k8s.io")
    return undefined;
  return subjectOf(object.apiVersion, object.kind, undefined, object.metadata.name);
}

/** Kinds the config's own CustomResourceDefinitions define (served versions), keyed `apiVersion/kind`. */
export function kindsDefinedByCrds(
  documents: readonly ParsedDocument[],
  resolver: KindResolver,
): Map<string, KindInfo> {
  const out = new Map<string, KindInfo>();
  for (const doc of documents) {
    const subject = crdSubject(doc.object);
    if (subject === undefined) continue;
    const spec = (doc.object.spec ?? {}) as {
      group?: unknown;
      scope?: unknown;
      names?: { kind?: unknown; plural?: unknown };
      versions?: { name?: unknown; served?: unknown }[];
    };
    const { group, names } = spec;
    if (typeof group !== "string" || typeof names?.kind !== "string" || typeof names.plural !== "string")
      continue;
    for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
      if (typeof v.name !== "string" || v.served === false) continue;
      const apiVersion = `${group}/${v.name}`;
      if (typeof resolver.resolve(apiVersion, names.kind) !== "string") continue;
      out.set(kindKey(apiVersion, names.kind), {
        apiVersion,
        group,
        kind: names.kind,
        plural: names.plural,
        namespaced: spec.scope !== "Cluster",
        rank: rankOf(group, names.kind),
        definedBy: subject,
      });
    }
  }
  return out;
}

/** Picks the first candidate version the server serves (or a CRD in the config defines), then settles the namespace. */
function resolveDocument(
  doc: ParsedDocument,
  resolver: KindResolver,
  defined: ReadonlyMap<string, KindInfo>,
  defaultNamespace: string,
): { info: KindInfo; object: KubeObject } {
  const fail = (what: string): never => {
    throw new InvalidInputError(`${doc.where}: ${what}. Nothing was changed.`);
  };
  const { kind } = doc.object;
  let info: KindInfo | undefined;
  let problem: string | undefined;
  for (const apiVersion of candidateVersions(doc.object)) {
    const found = defined.get(kindKey(apiVersion, kind)) ?? resolver.resolve(apiVersion, kind);
    if (typeof found !== "string") {
      info = found;
      break;
    }
    problem ??= found;
  }
  if (!info) return fail(problem ?? `${doc.object.apiVersion} ${kind} is not served`);
  const meta = { ...doc.object.metadata };
  if (info.namespaced) {
    meta.namespace ??= defaultNamespace;
    if (typeof meta.namespace !== "string" || !NAME.test(meta.namespace))
      return fail(`metadata.namespace is not a namespace name. Fix the template and re-render`);
  } else if (meta.namespace !== undefined) {
    return fail(`${kind} is cluster-scoped: remove metadata.namespace from the template and re-render`);
  }
  return { info, object: { ...doc.object, apiVersion: info.apiVersion, metadata: meta } };
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
export function parseManifests(path: string, content: string): { where: string; object: KubeObject }[] {
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
  const out: { where: string; object: KubeObject }[] = [];
  documents.forEach((data, index) => {
    if (data === null || data === undefined) return;
    const where = `${path} (document ${index + 1})`;
    if (expandedSize(data, MAX_NODES) > MAX_NODES) {
      throw new InvalidInputError(
        `${where}: its aliases expand to more than ${MAX_NODES} values (a YAML alias bomb?). Fix the template and re-render.`,
      );
    }
    out.push({ where, object: validate(data, where) });
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

/** Checks a document's shape; its kind, version and namespace are resolved later, against the API. */
function validate(data: unknown, where: string): KubeObject {
  const fail = (what: string): never => {
    throw new InvalidInputError(`${where}: ${what}. Fix the template and re-render.`);
  };
  if (typeof data !== "object" || Array.isArray(data) || data === null)
    return fail("expected a mapping (a Kubernetes object)");
  const raw = data as Record<string, unknown>;
  const { apiVersion, kind } = raw;
  if (typeof apiVersion !== "string" || typeof kind !== "string")
    return fail("apiVersion and kind must be strings");
  const metadata = raw.metadata;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
    return fail("metadata must be a mapping");
  const meta = { ...(metadata as KubeMetadata) };
  if (typeof meta.name !== "string" || !NAME.test(meta.name)) {
    return fail(
      `metadata.name must be a DNS name (lowercase letters, digits, '-' and '.'), got ${meta.name === undefined ? "nothing" : shown(JSON.stringify(meta.name))}`,
    );
  }
  if (meta.namespace !== undefined && (typeof meta.namespace !== "string" || !NAME.test(meta.namespace)))
    return fail(`metadata.namespace is not a namespace name`);
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
  if (kind === "Secret" && apiVersion === "v1") encodeStringData(object);
  return object;
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
