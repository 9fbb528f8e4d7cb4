// Credentials written into URLs (postgres://app:PASSWORD@db/app, https://TOKEN@host/x) are masked in
// every printed or stored text, whatever the name of the variable that holds the URL.

/** The mask that replaces a URL's password (or an http(s) URL's lone token). */
export const URL_SECRET_MASK = "***";

/**
 * scheme://userinfo@ — the userinfo runs to the last '@' before the host (a password may hold an
 * unencoded '@'), never across whitespace, quotes, '/', '?' or '#'. Both parts are bounded, so a long
 * value (a certificate, a blob) costs linear time.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s/?#'"<>`]{0,512})@/gi;

/** Masks the password of every URL in `text` (`user:***@`) and the token of http(s) URLs (`***@`). */
export function maskUrlUserinfo(text: string): string {
  if (!text.includes("://")) return text;
  return text.replace(USERINFO, (match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    if (colon >= 0) {
      const password = userinfo.slice(colon + 1);
      return password === "" || password === URL_SECRET_MASK
        ? match
        : `${scheme}${userinfo.slice(0, colon)}:${URL_SECRET_MASK}@`;
    }
    // https://TOKEN@host is how tokens are usually passed; ssh://git@host names a user, not a secret.
    if (/^https?:\/\/$/i.test(scheme) && userinfo !== "" && userinfo !== URL_SECRET_MASK) {
      return `${scheme}${URL_SECRET_MASK}@`;
    }
    return match;
  });
}

/** Whether `text` holds a URL password or http(s) token that maskUrlUserinfo would hide. */
export function hasUrlSecret(text: string): boolean {
  return maskUrlUserinfo(text) !== text;
}

/** The passwords (and http(s) tokens) inside the URLs of `text`, raw, for redacting free text such as logs. */
export function urlSecretsOf(text: string): string[] {
  const secrets: string[] = [];
  for (const match of text.matchAll(USERINFO)) {
    const [, scheme = "", userinfo = ""] = match;
    const colon = userinfo.indexOf(":");
    const secret = colon >= 0 ? userinfo.slice(colon + 1) : /^https?:\/\/$/i.test(scheme) ? userinfo : "";
    if (secret !== "" && secret !== URL_SECRET_MASK) secrets.push(secret);
  }
  return secrets;
}
