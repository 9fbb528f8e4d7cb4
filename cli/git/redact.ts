// Keeps credentials embedded in git URLs (https://user:TOKEN@host/…) out of every message and log.

/** scheme://userinfo@ — group 2 is the user, group 3 the ":password" part if any. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:'"]+)(:[^/@\s'"]*)?@/gi;

/** Redacts URL passwords, lone https tokens and any secret given explicitly. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join("***");
  return out.replace(USERINFO, (match, scheme: string, user: string, password: string | undefined) => {
    if (password !== undefined) return `${scheme}${user}:***@`;
    // https://TOKEN@host is how CI tokens are usually passed; ssh://git@host names a user, not a secret.
    return /^https?:/i.test(scheme) ? `${scheme}***@` : match;
  });
}

/** The secrets inside a repo URL (password and, for http(s), a lone user token), raw and percent-decoded. */
export function secretsOf(url: string): string[] {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/@]+)@/i.exec(url);
  if (!match) return [];
  const [, scheme = "", userinfo = ""] = match;
  const colon = userinfo.indexOf(":");
  const parts = colon >= 0 ? [userinfo.slice(colon + 1)] : /^https?$/i.test(scheme) ? [userinfo] : [];
  const secrets = parts.filter((p) => p.length > 0);
  for (const p of [...secrets]) {
    try {
      const decoded = decodeURIComponent(p);
      if (decoded !== p) secrets.push(decoded);
    } catch {
      // not percent-encoded: the raw form is enough
    }
  }
  return secrets;
}
