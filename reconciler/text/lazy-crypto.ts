// node:crypto, loaded when first used. Importing it loads ~20 of Node's internal modules (~10 ms of every
// command's start-up), and most runs hash nothing: validate with no secrets, --help, render.
export function nodeCrypto(): typeof import("node:crypto") {
  return process.getBuiltinModule("node:crypto");
}
