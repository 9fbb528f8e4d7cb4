// Config repos with age recipients for the secrets tests: the example (`sysconfig init`) with one
// environment's recipients set, as a bare remote, and identity files made by `sysconfig keygen`.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { runCli } from "./cli.js";
import { bareClone, git, initExample } from "./config-repos.js";

/** `sysconfig keygen FILE`: the identity file's path and its recipient. */
export async function keygen(file: string): Promise<{ file: string; recipient: string }> {
  const result = await runCli(["keygen", file]);
  if (result.code !== 0) throw new Error(`sysconfig keygen failed (${result.code}): ${result.stderr}`);
  return { file, recipient: result.stdout.trim() };
}

/** Sets (or replaces) `environments.<environment>.secrets.recipients` in a checkout's sysconfig.yaml. */
export async function setRecipients(
  dir: string,
  environment: string,
  recipients: readonly string[],
): Promise<void> {
  const file = path.join(dir, "sysconfig.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  doc.setIn(
    ["environments", environment, "secrets", "recipients"],
    doc.createNode([...recipients], { flow: false }),
  );
  await writeFile(file, doc.toString());
}

/** Removes `environments.<environment>.secrets` (its recipients) from a checkout's sysconfig.yaml. */
export async function removeRecipients(dir: string, environment: string): Promise<void> {
  const file = path.join(dir, "sysconfig.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  doc.deleteIn(["environments", environment, "secrets"]);
  await writeFile(file, doc.toString());
}

/** The example with `environment`'s recipients set and committed on its branch, served as a bare remote. */
export async function exampleRemote(
  parent: string,
  environment: string,
  recipients: readonly string[],
): Promise<{ work: string; remote: string }> {
  const work = await initExample(parent);
  git(["switch", "--quiet", environment], work);
  await setRecipients(work, environment, recipients);
  git(["commit", "--quiet", "-am", `recipients for ${environment}`], work);
  return { work, remote: bareClone(work, path.join(parent, "remote.git")) };
}
