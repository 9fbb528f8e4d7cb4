// Tells why a push (or fetch) failed: the remote moved (re-apply and retry), a transient network fault
// (retry), or something permanent (auth, missing repo: stop).

export type GitFailureKind = "moved" | "transient" | "permanent";

const MOVED = [
  /\[rejected\]/,
  /non-fast-forward/,
  /\(fetch first\)/,
  /cannot lock ref/,
  /failed to update ref/,
  /stale info/,
  /incorrect old value/,
  /is at [0-9a-f]+ but expected/,
  /Unable to create '.*\.lock'/,
];

const TRANSIENT = [
  /Connection (reset|refused|timed out|closed)/i,
  /Could not resolve host/i,
  /Failed to connect|Couldn't connect/i,
  /early EOF/,
  /the remote end hung up/,
  /RPC failed/,
  /returned error: (429|5\d\d)/,
  /Operation timed out/i,
  /unexpected disconnect/i,
  /Broken pipe/i,
  /(gnutls|SSL|TLS)[^\n]*(error|failed)/i,
];

/** A `[remote rejected]` for any other reason (a pre-receive hook, a protected branch) is permanent. */
export function classifyGitFailure(output: string): GitFailureKind {
  if (MOVED.some((re) => re.test(output))) return "moved";
  if (TRANSIENT.some((re) => re.test(output))) return "transient";
  return "permanent";
}
