// age identity files (the format age-keygen writes): `# comment` lines and one `AGE-SECRET-KEY-1…` per
// line. Reading one never echoes its content: an error names the file and the line number only.
import { readFile } from "node:fs/promises";
import { InvalidInputError, reasonOf } from "../errors.js";
import { age } from "./age-module.js";

const IDENTITY = /^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/;

export interface Identities {
  /** The file they were read from, for messages. */
  file: string;
  identities: string[];
  /** The recipient of each identity, in the same order. */
  recipients: string[];
}

/** Parses identity-file text; `file` only labels errors. */
export async function parseIdentities(text: string, file: string): Promise<Identities> {
  const identities: string[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!IDENTITY.test(line)) {
      throw new InvalidInputError(
        `identity file ${file}: line ${index + 1} is not an age X25519 identity (AGE-SECRET-KEY-1…). Use a file ` +
          `written by sysconfig keygen or age-keygen; passphrase-protected or plugin identities are not supported.`,
      );
    }
    identities.push(line);
  }
  if (identities.length === 0) {
    throw new InvalidInputError(
      `identity file ${file} holds no identity (no AGE-SECRET-KEY-1… line). Point --identity-file ` +
        `(SYSCONFIG_IDENTITY_FILE) at the key written by sysconfig keygen.`,
    );
  }
  const recipients = await Promise.all(identities.map((i) => age().identityToRecipient(i)));
  return { file, identities, recipients };
}

/** Reads an identity file; a missing or unreadable file is exit 3 naming it. */
export async function readIdentities(file: string): Promise<Identities> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(
      `identity file ${file} cannot be read (${reasonOf(error)}). Mount the environment's age identity there, ` +
        `or point --identity-file (SYSCONFIG_IDENTITY_FILE) at it.`,
      { cause: error },
    );
  }
  return parseIdentities(text, file);
}

/** A new identity in age-keygen's file format, and its recipient. */
export async function newIdentity(now: Date = new Date()): Promise<{ text: string; recipient: string }> {
  const identity = await age().generateX25519Identity();
  const recipient = await age().identityToRecipient(identity);
  const text = `# created: ${now.toISOString().replace(/\.\d{3}Z$/, "Z")}\n# public key: ${recipient}\n${identity}\n`;
  return { text, recipient };
}
