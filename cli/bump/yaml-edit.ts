// Edits sysconfig.yaml through the `yaml` Document API: only the changed value moves, comments and
// layout stay as the humans wrote them.
import { isDeepStrictEqual } from "node:util";
import { isScalar, parseDocument, Scalar, visit, type Document } from "yaml";
import { InternalError } from "../../reconciler/errors.js";

/** Sets `services.<service>.tag`, replacing only the scalar's own text where the YAML allows it. */
export function setServiceTag(text: string, service: string, tag: string): string {
  return setScalar(text, ["services", service, "tag"], tag);
}

/** Sets `services.<service>.templates.<kind>` (creating the templates map if needed). */
export function setServiceTemplate(text: string, service: string, kind: string, file: string): string {
  return setScalar(text, ["services", service, "templates", kind], file);
}

function setScalar(text: string, path: string[], value: string): string {
  const doc = parseDocument(text);
  const node = doc.getIn(path, true);
  const expected = doc.toJS() as unknown;
  setIn(expected, path, value);
  // `tag: &t 1-develop` read elsewhere as `*t`: those keep the old value, only this one changes.
  if (isScalar(node) && node.anchor !== undefined && unaliasAnchor(doc, node)) {
    doc.setIn(path, value);
    return readBack(doc, expected, path);
  }
  if (isScalar(node) && node.range && typeof node.value === "string") {
    const [start, end] = node.range;
    const spliced = `${text.slice(0, start)}${quoteLike(node, value)}${text.slice(end)}`;
    if (isDeepStrictEqual(parseDocument(spliced).toJS(), expected)) return spliced;
  }
  // An alias, a block scalar or a missing key: let the Document API place it (comments survive).
  doc.setIn(path, value);
  return readBack(doc, expected, path);
}

/** The edited document's text, checked to read back as exactly the expected data. */
function readBack(doc: Document, expected: unknown, path: string[]): string {
  const written = doc.toString();
  if (!isDeepStrictEqual(parseDocument(written).toJS(), expected)) {
    throw new InternalError(`sysconfig.yaml edit of ${path.join(".")} failed: the result does not read back`);
  }
  return written;
}

/** Replaces each alias of `node`'s anchor with a plain copy of its value; true when there was one. */
function unaliasAnchor(doc: Document, node: Scalar): boolean {
  let found = false;
  visit(doc, {
    Alias(_key, alias) {
      if (alias.source !== node.anchor) return undefined;
      found = true;
      const copy = new Scalar(node.value);
      copy.type = node.type;
      return copy;
    },
  });
  return found;
}

/** The new value in the quoting style the old one used (plain stays plain when YAML reads it as a string). */
function quoteLike(node: Scalar, value: string): string {
  if (node.type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  if (node.type === Scalar.QUOTE_DOUBLE || node.type !== Scalar.PLAIN) return JSON.stringify(value);
  return parseDocument(value).toJS() === value ? value : JSON.stringify(value);
}

function setIn(root: unknown, path: string[], value: string): void {
  let node = root as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] ?? ""] = value;
}
