// Takes the credentials out of an http(s) repo URL (https://user:TOKEN@host/…, as CI passes them), so git
// gets them as an Authorization header through GIT_CONFIG_* for its own process only: never on git's argv
// (visible in `ps`) and never in the clone's .git/config.
import type { ExtraGitEnv } from "./client.js";

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
