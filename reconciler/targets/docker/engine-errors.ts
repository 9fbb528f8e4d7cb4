// Classifies Docker Engine API failures: HTTP status, transient or not, and a short reason.
import { RuntimeFailureError, reasonOf } from "../../errors.js";

/** The HTTP status dockerode attached to a failed request, if any. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error === "object" && error !== null && "statusCode" in error) {
    const code = error.statusCode;
    return typeof code === "number" ? code : undefined;
  }
  return undefined;
}

/**
 * A request that got no answer within the request timeout. Not transient: the bound is on the whole wait,
 * so it is not retried (an engine that accepts and never answers would cost attempts × the bound).
 */
export class EngineTimeoutError extends Error {
  constructor(shown: string, timeoutMs: number, cause: unknown) {
    super(
      `no answer from the Docker engine at ${shown} within ${timeoutMs / 1000} s; if it is only slow, ` +
        `raise --request-timeout SECONDS (SYSCONFIG_REQUEST_TIMEOUT)`,
      { cause },
    );
    this.name = "EngineTimeoutError";
  }
}

const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ESOCKETTIMEDOUT"]);

export function isTransient(error: unknown): boolean {
  if (error instanceof EngineTimeoutError) return false;
  const status = statusOf(error);
  if (status !== undefined) return status === 429 || (status >= 502 && status <= 504);
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  return TRANSIENT_CODES.has(code) || /timeout/i.test(reasonOf(error));
}

/** The engine's own message (`json.message`) rather than dockerode's "(HTTP code 404) ..." prefix. */
export function engineReason(error: unknown): string {
  if (typeof error === "object" && error !== null && "json" in error) {
    const json = error.json;
    if (typeof json === "object" && json !== null && "message" in json) return String(json.message).trim();
  }
  return reasonOf(error)
    .replace(/^\(HTTP code \d+\) [a-z ]+ - /, "")
    .trim();
}

/** `<subject> <operation> failed: <reason>`, the cause kept. */
export function engineFailure(subject: string, operation: string, error: unknown): RuntimeFailureError {
  return new RuntimeFailureError(`${subject} ${operation} failed: ${engineReason(error)}`, {
    cause: error,
    transient: isTransient(error),
  });
}

/** Retries a read-only engine request on transient failures (connection reset, 429, 502–504). */
export async function withRetry<T>(request: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}
