// sysconfig keygen FILE: a new age identity written 0600 (never over an existing file); its recipient,
// the public half to put in environments.<env>.secrets.recipients, on stdout.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, reasonOf } from "../../reconciler/errors.js";
import { newIdentity } from "../../reconciler/secrets/identity.js";
import type { CliIo } from "../io.js";

export async function runKeygen(
  options: { file: string; output: "text" | "json" },
  io: CliIo,
): Promise<void> {
  const file = path.resolve(io.cwd, options.file);
  const { text, recipient } = await newIdentity();
  try {
    await writeFile(file, text, { mode: 0o600, flag: "wx" });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === "EEXIST";
    throw new InvalidInputError(
      `keygen ${file} failed: ${exists ? "the file exists (an identity is never overwritten: its secrets would be lost)" : reasonOf(error)}. ` +
        `Pass a new file name. Nothing was written.`,
      { cause: error },
    );
  }
  io.reporter.info(
    `wrote the identity to ${file} (mode 0600); keep it where only the reconciler can read it`,
  );
  io.out(options.output === "json" ? JSON.stringify({ file, recipient }) : recipient);
}
