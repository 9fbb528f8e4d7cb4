// --ui-token-file: when set, the page, /status and /events need the token, either as
// `Authorization: Bearer TOKEN` (scripts, an auth proxy) or as the cookie the login form sets (a
// browser). The cookie holds an HMAC of the token, not the token; comparisons take constant time.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type http from "node:http";

export const COOKIE = "sysconfig_ui";
/** How long the login cookie lasts. */
const COOKIE_MAX_AGE_SECONDS = 12 * 3600;

export interface UiAuth {
  /** True when no token is configured, or the request carries it. */
  allows(req: http.IncomingMessage): boolean;
  /** True when `candidate` is the token (the login form). */
  matches(candidate: string): boolean;
  readonly required: boolean;
  /** The Set-Cookie header value a successful login answers with. */
  cookie(): string;
}

const digest = (value: string | Buffer) => createHash("sha256").update(value).digest();
const same = (a: string | Buffer, b: string | Buffer) => timingSafeEqual(digest(a), digest(b));

function cookieValue(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function uiAuth(token: Buffer | undefined): UiAuth {
  if (token === undefined) {
    return { allows: () => true, matches: () => true, required: false, cookie: () => "" };
  }
  const session = createHmac("sha256", token).update("sysconfig serve ui cookie").digest("hex");
  return {
    required: true,
    allows(req) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
      if (bearer !== undefined && same(bearer, token)) return true;
      const cookie = cookieValue(req.headers.cookie);
      return cookie !== undefined && same(cookie, session);
    },
    matches: (candidate) => same(candidate, token),
    cookie: () =>
      `${COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_SECONDS}`,
  };
}
