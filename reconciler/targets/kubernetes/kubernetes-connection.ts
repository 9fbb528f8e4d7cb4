// Where and as whom to talk to the API server: the in-cluster service account when run in a pod
// (KUBERNETES_SERVICE_HOST set), else a kubeconfig (--kubeconfig/KUBECONFIG/~/.kube/config, --context).
// @kubernetes/client-node reads the kubeconfig and its credentials; TLS is always verified.
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { InvalidInputError, reasonOf } from "../../errors.js";

/** Where Kubernetes mounts a pod's service account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface ConnectionRequest {
  /** --endpoint: an https:// API server URL replacing the kubeconfig's server. */
  endpoint?: string | undefined;
  /** --context: a kubeconfig context other than its current one. */
  context?: string | undefined;
  /** The target config's kubeconfig file (relative paths against the working directory). */
  kubeconfig?: string | undefined;
  env: NodeJS.ProcessEnv;
}

/** A resolved connection: server URL plus what every request needs to authenticate. */
export interface Connection {
  server: URL;
  /** Where the settings came from, for error messages ("in-cluster service account", "kubeconfig X context Y"). */
  source: string;
  tls: Pick<https.RequestOptions, "ca" | "cert" | "key" | "servername">;
  /** Fresh Authorization (and other) headers: tokens are re-read, a projected token rotates. */
  headers(): Promise<Record<string, string>>;
}

export async function resolveConnection(request: ConnectionRequest): Promise<Connection> {
  const kc = new KubeConfig();
  const inCluster =
    request.env.KUBERNETES_SERVICE_HOST !== undefined &&
    request.env.KUBERNETES_SERVICE_HOST !== "" &&
    request.kubeconfig === undefined &&
    request.context === undefined;
  let source: string;
  if (inCluster) {
    const host = request.env.KUBERNETES_SERVICE_HOST ?? "";
    const port = request.env.KUBERNETES_SERVICE_PORT ?? "443";
    const root = SERVICE_ACCOUNT_DIR;
    for (const file of ["token", "ca.crt"]) {
      if (!fs.existsSync(path.join(root, file))) {
        throw new InvalidInputError(
          `kubernetes in-cluster config failed: KUBERNETES_SERVICE_HOST is set but ${path.join(root, file)} ` +
            `does not exist. Run in a pod with a service account token mounted (automountServiceAccountToken), ` +
            `or unset KUBERNETES_SERVICE_HOST and use a kubeconfig.`,
        );
      }
    }
    const hostPart = host.includes(":") ? `[${host}]` : host;
    kc.loadFromClusterAndUser(
      {
        name: "in-cluster",
        server: `https://${hostPart}:${port}`,
        caFile: path.join(root, "ca.crt"),
        skipTLSVerify: false,
      },
      {
        name: "service-account",
        authProvider: { name: "tokenFile", config: { tokenFile: path.join(root, "token") } },
      },
    );
    source = "the in-cluster service account";
  } else {
    const file = request.kubeconfig ?? firstKubeconfig(request.env);
    try {
      kc.loadFromFile(file);
    } catch (error) {
      throw new InvalidInputError(
        `kubernetes kubeconfig ${file} cannot be read: ${reasonOf(error)}. Pass the right file with ` +
          `KUBECONFIG (or the target's kubeconfig setting), or run inside a pod.`,
        { cause: error },
      );
    }
    if (request.context !== undefined) {
      if (!kc.getContextObject(request.context)) {
        throw new InvalidInputError(
          `kubernetes context '${request.context}' is not in ${file}; it has ${
            kc
              .getContexts()
              .map((c) => c.name)
              .join(", ") || "no contexts"
          }. ` + `Pass one of those with --context.`,
        );
      }
      kc.setCurrentContext(request.context);
    }
    source = `kubeconfig ${file} context '${kc.getCurrentContext()}'`;
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new InvalidInputError(
      `kubernetes ${source} names no cluster: set a current-context or pass --context.`,
    );
  }
  if (cluster.skipTLSVerify) {
    throw new InvalidInputError(
      `kubernetes ${source}: cluster '${cluster.name}' sets insecure-skip-tls-verify, which sysconfig refuses ` +
        `(it would send credentials to whoever answers). Give the cluster's CA (certificate-authority-data) instead.`,
    );
  }
  const serverText = request.endpoint ?? cluster.server;
  let server: URL;
  try {
    server = new URL(serverText);
  } catch (error) {
    throw new InvalidInputError(
      `kubernetes API server '${serverText}' (${source}) is not a URL; expected https://host:port.`,
      { cause: error },
    );
  }
  if (server.protocol !== "https:") {
    throw new InvalidInputError(
      `kubernetes API server ${serverText} (${source}) is not https: sysconfig only talks to the API server over verified TLS.`,
    );
  }
  const base: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(base);
  const tls: Connection["tls"] = {};
  if (base.ca !== undefined) tls.ca = base.ca;
  if (base.cert !== undefined) tls.cert = base.cert;
  if (base.key !== undefined) tls.key = base.key;
  if (base.servername !== undefined) tls.servername = base.servername;
  return {
    server,
    source,
    tls,
    async headers() {
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === "string") out[k] = v;
      if (opts.auth) out.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
      return out;
    },
  };
}

function firstKubeconfig(env: NodeJS.ProcessEnv): string {
  const list = (env.KUBECONFIG ?? "").split(path.delimiter).filter((p) => p !== "");
  return list[0] ?? path.join(env.HOME ?? os.homedir(), ".kube", "config");
}
