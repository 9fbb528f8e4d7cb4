// Registry credentials for image pulls, from the same places and in the same order as `sysconfig build`
// takes them for pushes: SYSCONFIG_REGISTRY_USERNAME + SYSCONFIG_REGISTRY_PASSWORD_FILE, else the Docker
// config file's `auths` ($DOCKER_CONFIG/config.json, else ~/.docker/config.json). Credential helpers
// (credsStore) are not run: sysconfig never executes programs named by configuration.
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InvalidInputError, reasonOf } from "../../errors.js";

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

const DOCKER_HUB = "docker.io";

/** `https://host:5001/v1/` and `host:5001` name the same registry; Docker Hub has several names. */
function normalizeRegistry(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

/** The registry host of an image reference (`127.0.0.1:5000/acme/web:1-develop` → `127.0.0.1:5000`). */
export function registryOf(image: string): string {
  const first = image.split("/")[0] ?? "";
  const hasRegistry =
    image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return hasRegistry ? first : DOCKER_HUB;
}

export async function registryAuthFor(
  image: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryAuth | undefined> {
  const registry = registryOf(image);
  return (await fromEnvironment(registry, env)) ?? (await fromDockerConfig(registry, env));
}

async function fromDockerConfig(registry: string, env: NodeJS.ProcessEnv): Promise<RegistryAuth | undefined> {
  const dir = env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), ".docker");
  const file = path.join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    const parsed = JSON.parse(text) as { auths?: typeof auths };
    auths = parsed.auths ?? {};
  } catch (error) {
    throw new InvalidInputError(`${file}: cannot parse the Docker config file: ${reasonOf(error)}`, {
      cause: error,
    });
  }
  for (const [key, entry] of Object.entries(auths)) {
    if (normalizeRegistry(key) !== registry) continue;
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password, serveraddress: registry };
    }
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) {
        return {
          username: decoded.slice(0, colon),
          password: decoded.slice(colon + 1),
          serveraddress: registry,
        };
      }
    }
  }
  return undefined;
}

async function fromEnvironment(registry: string, env: NodeJS.ProcessEnv): Promise<RegistryAuth | undefined> {
  const username = env.SYSCONFIG_REGISTRY_USERNAME;
  const passwordFile = env.SYSCONFIG_REGISTRY_PASSWORD_FILE;
  if (!username && !passwordFile) return undefined;
  if (!username || !passwordFile) {
    throw new InvalidInputError(
      "registry credentials are incomplete: set both SYSCONFIG_REGISTRY_USERNAME and SYSCONFIG_REGISTRY_PASSWORD_FILE (a file holding the password).",
    );
  }
  try {
    const password = (await readFile(passwordFile, "utf8")).replace(/\r?\n$/, "");
    return { username, password, serveraddress: registry };
  } catch (error) {
    throw new InvalidInputError(
      `SYSCONFIG_REGISTRY_PASSWORD_FILE ${passwordFile}: cannot read the registry password (${reasonOf(error)}).`,
      { cause: error },
    );
  }
}
