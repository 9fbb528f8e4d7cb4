// Reads a kubeconfig file into plain data: the current (or named) context's cluster and user, with
// relative file paths resolved against the kubeconfig's directory, as kubectl does. Only the fields a
// connection needs are kept; anything unreadable is an InvalidInputError naming the file and the field.
import fs from "node:fs";
import path from "node:path";
import { parseYamlText } from "../../config/yaml-text.js";
import { InvalidInputError, reasonOf } from "../../errors.js";
import { isMap } from "../../plain-data.js";

export interface KubeconfigCluster {
  name: string;
  server: string;
  /** PEM text of certificate-authority-data, or of the certificate-authority file. */
  ca?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
}

export interface KubeconfigUser {
  name: string;
  token?: string;
  tokenFile?: string;
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
  /** An exec credential plugin or an auth-provider: @kubernetes/client-node runs those. */
  plugin?: "exec" | "auth-provider";
}

export interface KubeconfigSelection {
  file: string;
  context: string;
  cluster: KubeconfigCluster;
  user: KubeconfigUser;
}

type Entry = Record<string, unknown>;

export function readKubeconfig(file: string, wantedContext: string | undefined): KubeconfigSelection {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw cannotRead(file, reasonOf(error).split("\n")[0] ?? "", error);
  }
  // js-yaml first (the yaml package alone takes ~0.1 s to load); each problem is one line naming the
  // line, never an excerpt of the file: a kubeconfig holds tokens.
  const parsed = parseYamlText(text, file);
  if (parsed.issues) throw cannotRead(file, parsed.issues[0]?.replace(`${file}: `, "") ?? "");
  const doc = parsed.value;
  if (!isMap(doc)) throw cannotRead(file, "not a YAML mapping");
  const dir = path.dirname(file);
  const contexts = named(doc, "contexts", "context", file);
  const contextName = wantedContext ?? str(doc["current-context"]);
  if (wantedContext !== undefined && !contexts.has(wantedContext)) {
    throw new InvalidInputError(
      `kubernetes context '${wantedContext}' is not in ${file}; it has ${[...contexts.keys()].join(", ") || "no contexts"}. ` +
        `Pass one of those with --context.`,
    );
  }
  const context = contextName === undefined ? undefined : contexts.get(contextName);
  const clusterName = str(context?.cluster);
  const cluster =
    clusterName === undefined ? undefined : named(doc, "clusters", "cluster", file).get(clusterName);
  if (contextName === undefined || !context || clusterName === undefined || !cluster) {
    throw new InvalidInputError(
      `kubernetes kubeconfig ${file} context '${contextName ?? ""}' names no cluster: set a current-context or pass --context.`,
    );
  }
  const userName = str(context.user) ?? "";
  const user = named(doc, "users", "user", file).get(userName) ?? {};
  const where = `kubeconfig ${file} context '${contextName}'`;
  return {
    file,
    context: contextName,
    cluster: {
      name: clusterName,
      server: str(cluster.server) ?? "",
      ...opt("ca", pem(cluster, "certificate-authority", dir, where)),
      skipTLSVerify: cluster["insecure-skip-tls-verify"] === true,
      ...opt("tlsServerName", str(cluster["tls-server-name"])),
    },
    user: {
      name: userName,
      ...opt("token", str(user.token)),
      ...opt("tokenFile", relative(dir, str(user.tokenFile) ?? str(user["token-file"]))),
      ...opt("cert", pem(user, "client-certificate", dir, where)),
      ...opt("key", pem(user, "client-key", dir, where)),
      ...opt("username", str(user.username)),
      ...opt("password", str(user.password)),
      ...opt("plugin", pluginOf(user)),
    },
  };
}

function pluginOf(user: Entry): KubeconfigUser["plugin"] {
  if (isMap(user.exec)) return "exec";
  return isMap(user["auth-provider"]) ? "auth-provider" : undefined;
}

function cannotRead(file: string, reason: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError(
    `kubernetes kubeconfig ${file} cannot be read: ${reason}. Pass the right file with ` +
      `KUBECONFIG (or the target's kubeconfig setting), or run inside a pod.`,
    cause === undefined ? undefined : { cause },
  );
}

/** name → body of a kubeconfig list (`contexts: [{name, context: {...}}]`). */
function named(doc: Entry, list: string, body: string, file: string): Map<string, Entry> {
  const items = doc[list] ?? [];
  if (!Array.isArray(items)) throw cannotRead(file, `'${list}' is not a list`);
  const out = new Map<string, Entry>();
  for (const item of items) {
    if (isMap(item) && typeof item.name === "string") out.set(item.name, isMap(item[body]) ? item[body] : {});
  }
  return out;
}

/** The `<field>-data` (base64) or `<field>` (a file) of an entry, as text. */
function pem(entry: Entry, field: string, dir: string, where: string): string | undefined {
  const data = str(entry[`${field}-data`]);
  if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
  const file = relative(dir, str(entry[field]));
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(`kubernetes ${where}: ${field} ${file} cannot be read: ${reasonOf(error)}.`, {
      cause: error,
    });
  }
}

function relative(dir: string, file: string | undefined): string | undefined {
  return file === undefined ? undefined : path.resolve(dir, file);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
