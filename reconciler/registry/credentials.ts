// Registry credentials, shared by `sysconfig build --push` and the docker target's pulls:
// SYSCONFIG_REGISTRY_USERNAME + SYSCONFIG_REGISTRY_PASSWORD_FILE for the one registry SYSCONFIG_REGISTRY
// names, else the Docker config file's `auths` entry (base64 user:password). Secrets never come from flags; credential helpers are never run
// (sysconfig executes no program named by configuration).
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InvalidInputError, reasonOf } from "../errors.js";
import { escapeControls } from "../text/escape.js";

export interface RegistryCredentials {
  username: string;
  password: string;
  serveraddress: string;
  /** Where they came from, for messages (never the secret itself). */
  from: string;
}

/** `https://host:5001/v1/` and `host:5001` name the same registry. */
function normalizeRegistry(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

function dockerConfigFile(env: NodeJS.ProcessEnv): string {
  return path.join(env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), ".docker"), "config.json");
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

async function fromDockerConfig(
  registry: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryCredentials | { unsupported: string } | undefined> {
  const file = dockerConfigFile(env);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
  } catch (error) {
    throw new InvalidInputError(`${file} is not valid JSON (${reasonOf(error)}): fix or remove it.`, {
      cause: error,
    });
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalizeRegistry(key) !== registry) continue;
    if (entry.auth !== undefined && entry.auth !== "") {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) {
        throw new InvalidInputError(
          `${file}: auths["${key}"].auth is not base64 of user:password; run 'docker login ${key}' again.`,
        );
      }
      return {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
        serveraddress: key,
        from: file,
      };
    }
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password, serveraddress: key, from: file };
    }
  }
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  return helper === undefined
    ? undefined
    : { unsupported: `${file} delegates to credential helper '${helper}'` };
}

interface EnvironmentCredentials {
  /** The one registry they are for (SYSCONFIG_REGISTRY, normalized). */
  registry: string;
  username: string;
  passwordFile: string;
}

/**
 * SYSCONFIG_REGISTRY + SYSCONFIG_REGISTRY_USERNAME + SYSCONFIG_REGISTRY_PASSWORD_FILE, all three or
 * none: credentials from the environment are scoped to one registry, so a password meant for the
 * company registry is never offered to whatever registry an image reference happens to name.
 */
function environmentCredentials(env: NodeJS.ProcessEnv): EnvironmentCredentials | undefined {
  const registry = env.SYSCONFIG_REGISTRY;
  const username = env.SYSCONFIG_REGISTRY_USERNAME;
  const passwordFile = env.SYSCONFIG_REGISTRY_PASSWORD_FILE;
  if (registry === undefined && username === undefined && passwordFile === undefined) return undefined;
  const missing = [
    ...(registry === undefined || registry === ""
      ? ["SYSCONFIG_REGISTRY (host[:port], e.g. registry.example.com:5000)"]
      : []),
    ...(username === undefined ? ["SYSCONFIG_REGISTRY_USERNAME"] : []),
    ...(passwordFile === undefined ? ["SYSCONFIG_REGISTRY_PASSWORD_FILE (a file holding the password)"] : []),
  ];
  if (missing.length > 0 || registry === undefined || username === undefined || passwordFile === undefined) {
    throw new InvalidInputError(
      "registry credentials from the environment need SYSCONFIG_REGISTRY, SYSCONFIG_REGISTRY_USERNAME and " +
        `SYSCONFIG_REGISTRY_PASSWORD_FILE together; missing: ${missing.join(", ")}. SYSCONFIG_REGISTRY names the ` +
        "only registry the username and password are sent to. Set all three, or unset them to use the Docker " +
        "config file's auths.",
    );
  }
  const normalized = normalizeRegistry(registry);
  if (!/^[A-Za-z0-9.-]+(:[0-9]+)?$/.test(normalized)) {
    throw new InvalidInputError(
      `SYSCONFIG_REGISTRY '${escapeControls(registry)}' is not a registry host: give host[:port], e.g. registry.example.com:5000.`,
    );
  }
  return { registry: normalized, username, passwordFile };
}

/** Credentials for `registry`, or undefined to push anonymously. */
export async function registryCredentials(
  registry: string,
  env: NodeJS.ProcessEnv,
): Promise<{ credentials?: RegistryCredentials; note?: string }> {
  const fromEnv = environmentCredentials(env);
  if (fromEnv !== undefined && fromEnv.registry === normalizeRegistry(registry)) {
    let password: string;
    try {
      password = (await readFile(fromEnv.passwordFile, "utf8")).replace(/\r?\n$/, "");
    } catch (error) {
      throw new InvalidInputError(
        `SYSCONFIG_REGISTRY_PASSWORD_FILE ${fromEnv.passwordFile} cannot be read (${reasonOf(error)}).`,
        { cause: error },
      );
    }
    return {
      credentials: {
        username: fromEnv.username,
        password,
        serveraddress: registry,
        from: "SYSCONFIG_REGISTRY_USERNAME",
      },
    };
  }
  const found = await fromDockerConfig(registry, env);
  if (found === undefined) {
    return fromEnv === undefined
      ? {}
      : {
          note: `SYSCONFIG_REGISTRY_USERNAME is for SYSCONFIG_REGISTRY=${fromEnv.registry}, not ${registry}: no credentials are sent to ${registry}`,
        };
  }
  if ("unsupported" in found) {
    return {
      note: `${found.unsupported}, which sysconfig does not call; pushing without credentials (set SYSCONFIG_REGISTRY=${registry}, SYSCONFIG_REGISTRY_USERNAME and SYSCONFIG_REGISTRY_PASSWORD_FILE instead)`,
    };
  }
  return { credentials: found };
}

/** Why no credentials were offered to `registry`, and how to provide them (never a secret). */
export function missingCredentialsHint(registry: string, env: NodeJS.ProcessEnv): string {
  const scoped = env.SYSCONFIG_REGISTRY;
  const scopedNote =
    scoped !== undefined && scoped !== "" && normalizeRegistry(scoped) !== normalizeRegistry(registry)
      ? `SYSCONFIG_REGISTRY_USERNAME is for SYSCONFIG_REGISTRY=${normalizeRegistry(scoped)} only; `
      : "";
  return (
    `no registry credentials were found for ${registry}: ${scopedNote}set SYSCONFIG_REGISTRY=${registry} with ` +
    "SYSCONFIG_REGISTRY_USERNAME and SYSCONFIG_REGISTRY_PASSWORD_FILE, or log in with docker login so the " +
    "Docker config file has them"
  );
}

/** The registry host of an image reference (`127.0.0.1:5000/acme/web:1` → `127.0.0.1:5000`); Docker Hub otherwise. */
export function registryOf(image: string): string {
  const slash = image.indexOf("/");
  const first = slash < 0 ? "" : image.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "docker.io";
}

/** What the engine's pull API takes as `authconfig`. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** Credentials to pull `image`, or undefined to pull anonymously. */
export async function registryAuthFor(
  image: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryAuth | undefined> {
  const registry = registryOf(image);
  const { credentials } = await registryCredentials(registry, env);
  return (
    credentials && { username: credentials.username, password: credentials.password, serveraddress: registry }
  );
}
