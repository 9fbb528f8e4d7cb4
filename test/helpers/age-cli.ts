// Debian's `age` and `age-keygen` (installed by scripts/services.sh): the reference implementation that
// sysconfig's ciphertext must interoperate with.
import { spawnSync } from "node:child_process";

/** Runs age or age-keygen; throws with its stderr when it fails. */
export function ageCli(command: "age" | "age-keygen", args: readonly string[], input = ""): string {
  const result = spawnSync(command, args, { input, encoding: "utf8" });
  if (result.error) {
    throw new Error(`${command} is not installed (run: sudo npm run services): ${result.error.message}`);
  }
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/** A new key pair from age-keygen: the identity file's text and its recipient. */
export function ageKeygen(): { text: string; recipient: string } {
  const text = ageCli("age-keygen", []);
  const recipient = /# public key: (age1\S+)/.exec(text)?.[1];
  if (recipient === undefined) throw new Error(`age-keygen printed no public key: ${text}`);
  return { text, recipient };
}
