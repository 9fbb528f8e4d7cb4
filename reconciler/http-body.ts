// Reads a whole HTTP response for the targets' API clients: status, body text, and Retry-After.
import type { IncomingMessage } from "node:http";

export interface TextResponse {
  status: number;
  body: string;
  /** The Retry-After header as sent (seconds or an HTTP date), for a 429 or 503. */
  retryAfter?: string;
}

/** Collects `res` to its end; `resolve`/`reject` are the request's promise callbacks. */
export function collectText(
  res: IncomingMessage,
  resolve: (response: TextResponse) => void,
  reject: (error: Error) => void,
): void {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("error", reject);
  res.on("end", () => {
    const retryAfter = res.headers["retry-after"];
    resolve({
      status: res.statusCode ?? 0,
      body: Buffer.concat(chunks).toString("utf8"),
      ...(typeof retryAfter === "string" ? { retryAfter } : {}),
    });
  });
}
