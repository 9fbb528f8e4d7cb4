// Edits sysconfig.yaml through the `yaml` Document API: only the changed value moves, comments and
// layout stay as the humans wrote them.
import { isDeepStrictEqual } from "node:util";
import {
  isAlias,
  isMap,
  isNode,
  isScalar,
  parseDocument,
  Scalar,
  visit,
  type Document,
  type Node,
} from "yaml";
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
  // A deep copy that shares nothing: data read through an alias must not change with its anchor.
  const expected = JSON.parse(JSON.stringify(doc.toJS())) as unknown;
  setIn(expected, path, value);
  if (unshare(doc, path)) {
    doc.setIn(path, value);
    return readBack(doc, expected, path);
  }
  const node = doc.getIn(path, true);
  if (isScalar(node) && node.range && typeof node.value === "string") {
    const [start, end] = node.range;
    const spliced = `${text.slice(0, start)}${quoteLike(node, value)}${text.slice(end)}`;
    if (isDeepStrictEqual(parseDocument(spliced).toJS(), expected)) return spliced;
  }
  // A block scalar or a missing key: let the Document API place it (comments survive).
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

/**
 * Anchors and aliases on the way to `path` (`web: &w {…}` read as `api: *w`, `tag: &t 1-develop` read as
 * `tag: *t`): an alias on the path becomes a plain copy of what it reads, and every alias of an anchored
 * node on the path becomes a plain copy of that node, so only `path` changes and every other place keeps
 * the value it reads today. True when anything was replaced.
 */
function unshare(doc: Document, path: string[]): boolean {
  let changed = false;
  for (let i = 1; i <= path.length; i += 1) {
    const prefix = path.slice(0, i);
    let node: unknown = doc.getIn(prefix, true);
    if (isAlias(node)) {
      const source = node.resolve(doc);
      if (source === undefined) return changed;
      node = plainCopy(source);
      doc.setIn(prefix, node);
      changed = true;
    }
    if (!isNode(node) || node.anchor === undefined) continue;
    const anchored = node;
    visit(doc, {
      Alias(_key, alias) {
        if (alias.source !== anchored.anchor) return undefined;
        changed = true;
        return plainCopy(anchored);
      },
    });
  }
  return changed;
}

/** A deep copy of a node without its anchors (a copy must not define an anchor a second time). */
function plainCopy(node: Node): Node {
  const copy = node.clone() as Node;
  visit(copy, (_key, n) => {
    if (isNode(n)) n.anchor = undefined;
    return undefined;
  });
  copy.anchor = undefined;
  return copy;
}

/** The new value in the quoting style the old one used (plain stays plain when YAML reads it as a string). */
function quoteLike(node: Scalar, value: string): string {
  if (node.type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  if (node.type === Scalar.QUOTE_DOUBLE || node.type !== Scalar.PLAIN) return JSON.stringify(value);
  return parseDocument(value).toJS() === value ? value : JSON.stringify(value);
}

function setIn(root: unknown, path: string[], value: unknown): void {
  let node = root as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] ?? ""] = value;
}

/** Sets `services.<service>.secrets.<name>.<environment>` to an encrypted value (the ciphertext as a block). */
export function setServiceSecret(
  text: string,
  service: string,
  name: string,
  environment: string,
  value: { recipients: readonly string[]; ciphertext: string },
): string {
  const path = ["services", service, "secrets", name, environment];
  const doc = parseDocument(text);
  const expected = JSON.parse(JSON.stringify(doc.toJS())) as unknown;
  setIn(expected, path, { recipients: [...value.recipients], ciphertext: value.ciphertext });
  unshare(doc, path);
  const node = doc.createNode({ recipients: [...value.recipients], ciphertext: value.ciphertext });
  visit(node, {
    Scalar(_key, scalar) {
      if (typeof scalar.value === "string" && scalar.value.includes("\n")) scalar.type = Scalar.BLOCK_LITERAL;
    },
  });
  doc.setIn(path, node);
  return readBack(doc, expected, path);
}

/**
 * Removes `services.<service>.secrets.<name>.<environment>`, then the name once it has no environment left,
 * then `secrets` once it is empty. Returns the text unchanged when there is nothing to remove.
 */
export function removeServiceSecret(
  text: string,
  service: string,
  name: string,
  environment: string,
): string {
  const doc = parseDocument(text);
  const path = ["services", service, "secrets", name, environment];
  if (!doc.hasIn(path)) return text;
  const expected = JSON.parse(JSON.stringify(doc.toJS())) as Record<string, unknown>;
  unshare(doc, path);
  // The entry, then its name if that was its last environment, then `secrets` if that was its last name.
  for (const [step, at] of [path, path.slice(0, 4), path.slice(0, 3)].entries()) {
    const node: unknown = doc.getIn(at, true);
    if (step > 0 && !(isMap(node) && node.items.length === 0)) break;
    deleteIn(expected, at);
    doc.deleteIn(at);
  }
  return readBack(doc, expected, path);
}

function deleteIn(root: unknown, path: string[]): void {
  let node = root as Record<string, unknown> | undefined;
  for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
  if (node) delete node[path[path.length - 1] ?? ""];
}
