// Pure comparisons of desired and live objects: the cheap check that decides whether an object may
// differ (does every field sysconfig sets still hold its value?), and the normal form shown in diffs
// (server-managed metadata and status stripped, so only real differences remain).
import { isMap } from "../../plain-data.js";
import { ANNOTATION, type KubeObject } from "./desired.js";

/** Metadata the API server maintains: never part of a diff. */
const SERVER_METADATA = [
  "managedFields",
  "resourceVersion",
  "generation",
  "uid",
  "creationTimestamp",
  "selfLink",
];
/** Annotations that change without anyone changing the object, and sysconfig's own bookkeeping. */
const NOISY_ANNOTATIONS = [ANNOTATION.revision, ANNOTATION.hash, "deployment.kubernetes.io/revision"];

/**
 * The fields of `desired` whose live value differs, as readable lines ("spec.replicas is 5, sysconfig
 * sets 3"). Lists compare element by element (the API server keeps the order sysconfig sends);
 * extra live fields (defaults) are ignored. Values under a Secret's data are never printed.
 */
export function fieldDrift(desired: KubeObject, live: KubeObject): string[] {
  const out: string[] = [];
  const secret = desired.kind === "Secret";
  const walk = (want: unknown, have: unknown, path: string): void => {
    if (out.length >= 10) return;
    if (path === `metadata.annotations.${ANNOTATION.revision}`) return;
    // The server drops empty lists and maps: `ports: []` and no ports are the same object.
    if (isEmpty(want) && (have === undefined || isEmpty(have))) return;
    if (Array.isArray(want)) {
      if (!Array.isArray(have) || have.length !== want.length) {
        out.push(
          `${path} has ${Array.isArray(have) ? have.length : 0} item(s), sysconfig sets ${want.length}`,
        );
        return;
      }
      want.forEach((item, i) => walk(item, have[i], `${path}[${i}]`));
      return;
    }
    if (want !== null && typeof want === "object") {
      if (have === null || typeof have !== "object" || Array.isArray(have)) {
        out.push(`${path} is missing`);
        return;
      }
      for (const [key, value] of Object.entries(want)) {
        walk(value, (have as Record<string, unknown>)[key], path === "" ? key : `${path}.${key}`);
      }
      return;
    }
    if (sameScalar(want, have)) return;
    if (secret && (path.startsWith("data.") || path.startsWith("stringData."))) out.push(`${path} differs`);
    else if (have === undefined) out.push(`${path} is missing, sysconfig sets ${show(want)}`);
    else out.push(`${path} is ${show(have)}, sysconfig sets ${show(want)}`);
  };
  walk(desired, live, "");
  return out;
}

/**
 * The part of `live` at the fields `desired` sets (lists element by element), so that a diff against
 * `desired` shows what sysconfig changes and none of the server's defaults.
 */
export function projectOnto(live: KubeObject, desired: KubeObject): KubeObject {
  const project = (have: unknown, want: unknown): unknown => {
    if (Array.isArray(want) && Array.isArray(have)) {
      return (have as unknown[]).map((item, i) => (i < want.length ? project(item, want[i]) : item));
    }
    if (isMap(want) && isMap(have)) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(want)) if (key in have) out[key] = project(have[key], want[key]);
      return out;
    }
    return have;
  };
  return project(live, desired) as KubeObject;
}

/**
 * `desired` without what the server leaves out when it stores an object (Go's omitempty): empty lists
 * and maps, and zero values (0, false, "") where `live` has no such field. They are no difference.
 */
export function withoutOmitted<T>(desired: T, live: unknown): T {
  const prune = (want: unknown, have: unknown): unknown => {
    if (Array.isArray(want))
      return want.map((item, i) => prune(item, Array.isArray(have) ? have[i] : undefined));
    if (!isMap(want)) return want;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(want)) {
      const liveItem = isMap(have) ? have[key] : undefined;
      const zero = item === 0 || item === false || item === "" || isEmpty(item);
      if (zero && liveItem === undefined) continue;
      out[key] = prune(item, liveItem);
    }
    return out;
  };
  return prune(desired, live) as T;
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === "object" && Object.keys(value).length === 0;
}

/** `8080` and `"8080"` (int-or-string fields) are one value. */
function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((typeof a === "number" && typeof b === "string") || (typeof a === "string" && typeof b === "number")) {
    return String(a) === String(b);
  }
  return false;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** The object as diffs show it: server-maintained metadata, noisy annotations and status removed. */
export function diffForm(object: KubeObject): KubeObject {
  const metadata = { ...object.metadata };
  for (const field of SERVER_METADATA) delete metadata[field];
  if (metadata.annotations) {
    const annotations = { ...metadata.annotations };
    for (const a of NOISY_ANNOTATIONS) delete annotations[a];
    if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
    else delete metadata.annotations;
  }
  const out: KubeObject = { ...object, metadata };
  delete out.status;
  return out;
}
