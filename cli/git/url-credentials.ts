// Takes the credentials out of an http(s) repo URL (https://user:TOKEN@host/…, as CI passes them), so git
// gets them as an Authorization header through GIT_CONFIG_* for its own process only: never on git's argv
// (visible in `ps`) and never in the clone's .git/config.
import { InvalidInputError } from "../../reconciler/errors.js";
import type { ExtraGitEnv, GitClient } from "./client.js";

export interface SplitUrl {
  /** The URL without userinfo: what git is given and what the clone's origin records. */
  url: string;
  /** The header config for git's process; undefined when the URL carries no credentials. */
  extra: ExtraGitEnv | undefined;
}

export function splitCredentials(url: string): SplitUrl {
  if (!/^https?:\/\//i.test(url)) return { url, extra: undefined };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, extra: undefined };
  }
  if (parsed.username === "" && parsed.password === "") return { url, extra: undefined };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = "";
  parsed.password = "";
  const basic = Buffer.from(`${user}:${password}`).toString("base64");
  // Scoped to the one host, so a header meant for it is never sent anywhere else.
  return {
    url: parsed.toString(),
    extra: { config: { [`http.${parsed.origin}/.extraHeader`]: `Authorization: Basic ${basic}` } },
  };
}

/** git reads GIT_CONFIG_COUNT/KEY_n/VALUE_n (how the header above reaches it) from 2.31 on. */
export const CONFIG_ENV_MIN_GIT = { major: 2, minor: 31 } as const;

/** `git --version` output ("git version 2.39.5", "… 2.30.1.windows.1", "… (Apple Git-128)") → major.minor. */
export function parseGitVersion(output: string): { major: number; minor: number } | undefined {
  const match = /\bgit version (\d+)\.(\d+)/i.exec(output);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/** Whether git `version` reads config from the environment; an unknown version is given the benefit. */
export function takesConfigFromEnv(version: { major: number; minor: number } | undefined): boolean {
  if (version === undefined) return true;
  const { major, minor } = CONFIG_ENV_MIN_GIT;
  return version.major > major || (version.major === major && version.minor >= minor);
}

let versionOutput: Promise<string> | undefined;

/**
 * Refuses (exit 3) credentials in a URL when git is too old to take them from the environment: it would
 * silently send none, and the server's refusal would be blamed on the credentials. `git --version` runs once
 * per process; call before any network use.
 */
export async function assertGitTakesUrlCredentials(git: GitClient, shownUrl: string): Promise<void> {
  versionOutput ??= git.run(["--version"]).catch(() => "");
  const version = parseGitVersion(await versionOutput);
  if (takesConfigFromEnv(version) || version === undefined) return;
  throw new InvalidInputError(
    `config repo ${shownUrl}: git ${version.major}.${version.minor} is older than ` +
      `${CONFIG_ENV_MIN_GIT.major}.${CONFIG_ENV_MIN_GIT.minor} and cannot take the credentials from the environment; ` +
      `upgrade git or use an SSH URL. Nothing was changed.`,
  );
}
