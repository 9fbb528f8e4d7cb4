// age encryption (X25519 recipients, ASCII armor) through `age-encryption`, by age's own author: the
// ciphertext is standard age, so `age -d -i key.txt` reads what sysconfig writes and the reverse.
import { age } from "./age-module.js";

/** Encrypts a value to every recipient (`age1…`); returns the armored file, ending in a newline. */
export async function encryptTo(plaintext: string, recipients: readonly string[]): Promise<string> {
  const { armor, Encrypter } = age();
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  const armored = armor.encode(await encrypter.encrypt(plaintext));
  return armored.endsWith("\n") ? armored : `${armored}\n`;
}

/** Decrypts an armored age file with the given identities (`AGE-SECRET-KEY-1…`); throws when none fits. */
export async function decryptWith(armored: string, identities: readonly string[]): Promise<string> {
  const { armor, Decrypter } = age();
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  return decrypter.decrypt(armor.decode(armored), "text");
}

/** The binary age file inside an armored one; throws on anything that is not age armor. */
export function dearmor(armored: string): Uint8Array {
  return age().armor.decode(armored);
}
