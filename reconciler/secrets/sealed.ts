// One encrypted value as the reconciler sees it: where it belongs, to whom it was encrypted, and its
// fingerprint (what rendered/ references it by).

export interface SealedSecret {
  service: string;
  /** The environment variable it becomes. */
  name: string;
  environment: string;
  /** The recipients recorded when it was encrypted. */
  recipients: readonly string[];
  ciphertext: string;
  /** fingerprintOf(ciphertext). */
  fingerprint: string;
}

/** `hello/API_TOKEN` for messages. */
export function secretLabel(secret: Pick<SealedSecret, "service" | "name">): string {
  return `${secret.service}/${secret.name}`;
}
