// Where and as whom to talk to the API server: the in-cluster service account when run in a pod
// (KUBERNETES_SERVICE_HOST set), else a kubeconfig (--kubeconfig/KUBECONFIG/~/.kube/config, --context).
// TLS is always verified. Tokens, token files, client certificates and basic auth are read here; a
// user with an exec credential plugin or an auth-provider is handed to @kubernetes/client-node, loaded
// only then (its generated API client costs about 90 MB of memory to load, more than a whole no-op run).
import fs from "node:fs";
import type https from "node:https";
import os from "node:os";
import path from "node:path";
import { InvalidInputError, reasonOf } from "../../errors.js";
import { readKubeconfig, type KubeconfigSelection } from "./kubeconfig.js";

/** Where Kubernetes mounts a pod's service account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface ConnectionRequest {
  /** --endpoint: an https:// API server URL replacing the kubeconfig's server. */
  endpoint?: string | undefined;
  /** Where `endpoint` came from (--endpoint, SYSCONFIG_ENDPOINT, the config), said when it is invalid. */
  endpointSource?: string | undefined;
  /** --context: a kubeconfig context other than its current one. */
  context?: string | undefined;
  /** The target config's kubeconfig file (relative paths against the working directory). */
  kubeconfig?: string | undefined;
  env: NodeJS.ProcessEnv;
}

export type ConnectionTls = Pick<https.RequestOptions, "ca" | "cert" | "key" | "servername">;

/** A resolved connection: server URL plus what every request needs to authenticate. */
export interface Connection {
  server: URL;
  /** Where the settings came from, for error messages ("in-cluster service account", "kubeconfig X context Y"). */
  source: string;
  tls: ConnectionTls;
  /** Fresh Authorization (and other) headers: tokens are re-read, a projected token rotates. */
  headers(): Promise<Record<string, string>>;
}

export async function resolveConnection(request: ConnectionRequest): Promise<Connection> {
  const inCluster =
    request.env.KUBERNETES_SERVICE_HOST !== undefined &&
    request.env.KUBERNETES_SERVICE_HOST !== "" &&
    request.kubeconfig === undefined &&
    request.context === undefined;
  return inCluster ? inClusterConnection(request) : kubeconfigConnection(request);
}

function inClusterConnection(request: ConnectionRequest): Connection {
  const host = request.env.KUBERNETES_SERVICE_HOST ?? "";
  const port = request.env.KUBERNETES_SERVICE_PORT ?? "443";
  const tokenFile = path.join(SERVICE_ACCOUNT_DIR, "token");
  const caFile = path.join(SERVICE_ACCOUNT_DIR, "ca.crt");
  for (const file of [tokenFile, caFile]) {
    if (!fs.existsSync(file)) {
      throw new InvalidInputError(
        `kubernetes in-cluster config failed: KUBERNETES_SERVICE_HOST is set but ${file} ` +
          `does not exist. Run in a pod with a service account token mounted (automountServiceAccountToken), ` +
          `or unset KUBERNETES_SERVICE_HOST and use a kubeconfig.`,
      );
    }
  }
  const source = "the in-cluster service account";
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    server: serverUrl(
      request.endpoint ?? `https://${hostPart}:${port}`,
      request.endpoint !== undefined ? (request.endpointSource ?? "--endpoint") : source,
    ),
    source,
    tls: { ca: fs.readFileSync(caFile, "utf8") },
    headers: () => Promise.resolve({ Authorization: `Bearer ${readToken(tokenFile, source)}` }),
  };
}

async function kubeconfigConnection(request: ConnectionRequest): Promise<Connection> {
  const file = request.kubeconfig ?? firstKubeconfig(request.env);
  const config = readKubeconfig(file, request.context);
  const source = `kubeconfig ${file} context '${config.context}'`;
  const { cluster, user } = config;
  if (cluster.skipTLSVerify) {
    throw new InvalidInputError(
      `kubernetes ${source}: cluster '${cluster.name}' sets insecure-skip-tls-verify, which sysconfig refuses ` +
        `(it would send credentials to whoever answers). Give the cluster's CA (certificate-authority-data) instead.`,
    );
  }
  const server = serverUrl(
    request.endpoint ?? cluster.server,
    request.endpoint !== undefined ? (request.endpointSource ?? "--endpoint") : source,
  );
  if (user.plugin !== undefined) return pluginConnection(config, server, source);
  const tls: ConnectionTls = {};
  if (cluster.ca !== undefined) tls.ca = cluster.ca;
  if (user.cert !== undefined) tls.cert = user.cert;
  if (user.key !== undefined) tls.key = user.key;
  if (cluster.tlsServerName !== undefined) tls.servername = cluster.tlsServerName;
  const headers = (): Record<string, string> => {
    if (user.tokenFile !== undefined) return { Authorization: `Bearer ${readToken(user.tokenFile, source)}` };
    if (user.token !== undefined) return { Authorization: `Bearer ${user.token}` };
    if (user.username !== undefined) {
      const basic = Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64");
      return { Authorization: `Basic ${basic}` };
    }
    return {};
  };
  return { server, source, tls, headers: () => Promise.resolve(headers()) };
}

/** A user with an exec plugin or auth-provider: @kubernetes/client-node runs it and refreshes its token. */
async function pluginConnection(
  config: KubeconfigSelection,
  server: URL,
  source: string,
): Promise<Connection> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(config.file);
  kc.setCurrentContext(config.context);
  const tlsOf = async (): Promise<https.RequestOptions> => {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    return opts;
  };
  const base = await tlsOf();
  const tls: ConnectionTls = {};
  if (base.ca !== undefined) tls.ca = base.ca;
  if (base.cert !== undefined) tls.cert = base.cert;
  if (base.key !== undefined) tls.key = base.key;
  if (base.servername !== undefined) tls.servername = base.servername;
  return {
    server,
    source,
    tls,
    async headers() {
      const opts = await tlsOf();
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === "string") out[k] = v;
      return out;
    },
  };
}

function serverUrl(text: string, source: string): URL {
  let server: URL;
  try {
    server = new URL(text);
  } catch (error) {
    throw new InvalidInputError(
      `kubernetes API server '${text}' (${source}) is not a URL; expected https://host:port.`,
      { cause: error },
    );
  }
  if (server.protocol !== "https:") {
    throw new InvalidInputError(
      `kubernetes API server ${text} (${source}) is not https: sysconfig only talks to the API server over verified TLS.`,
    );
  }
  return server;
}

/** A token file's content, re-read on every request (projected tokens rotate). */
function readToken(file: string, source: string): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new InvalidInputError(
      `kubernetes ${source}: token file ${file} cannot be read: ${reasonOf(error)}.`,
      {
        cause: error,
      },
    );
  }
}

function firstKubeconfig(env: NodeJS.ProcessEnv): string {
  const list = (env.KUBECONFIG ?? "").split(path.delimiter).filter((p) => p !== "");
  return list[0] ?? path.join(env.HOME ?? os.homedir(), ".kube", "config");
}
