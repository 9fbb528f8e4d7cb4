// serve's inputs that are not plain flags: the listen address, and the two secrets (webhook secret,
// notification URL), which come only from files or the environment, never from the command line.
import { readFileSync, statSync } from "node:fs";
import { InvalidInputError, reasonOf } from "../errors.js";
import type { ListenAddress } from "./http-server.js";

/** "HOST:PORT" or "[v6]:PORT"; the host is required, so the bind address is always explicit. */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (match === null || host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new InvalidInputError(
      `--listen ${JSON.stringify(text)} failed: expected HOST:PORT, e.g. 127.0.0.1:9420 (this machine only), ` +
        `0.0.0.0:9420 (every interface, as in a container) or [::1]:9420. Nothing was started.`,
    );
  }
  return { host, port };
}

/** A webhook secret or a notification URL is a line, not a file's worth. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** Reads a secret file: trailing newlines are dropped (echo adds one), an empty or unreadable file is exit 3. */
export function readSecretFile(file: string, flag: string): Buffer {
  let text: string;
  try {
    // A regular file of a secret's size: /dev/zero, a FIFO or a directory would hang or exhaust memory.
    const info = statSync(file);
    if (!info.isFile() || info.size > MAX_SECRET_FILE_BYTES) {
      throw new InvalidInputError(
        `${flag} ${file} failed: ${info.isFile() ? `it is ${info.size} bytes, more than a secret (${MAX_SECRET_FILE_BYTES} at most)` : "it is not a regular file"}. ` +
          `Point ${flag} at the file holding the secret. Nothing was started.`,
      );
    }
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(
      `${flag} ${file} failed: cannot read it (${reasonOf(error)}). Point ${flag} at a readable file ` +
        `holding the secret. Nothing was started.`,
      { cause: error },
    );
  }
  const secret = text.replace(/[\r\n]+$/, "");
  if (secret.length === 0) {
    throw new InvalidInputError(
      `${flag} ${file} failed: the file is empty. Put the secret in it. Nothing was started.`,
    );
  }
  return Buffer.from(secret, "utf8");
}

/** The notification URL from --notify-url-file, else SYSCONFIG_NOTIFY_URL; undefined when neither is set. */
export function notifyUrl(file: string | undefined, env: NodeJS.ProcessEnv): URL | undefined {
  const source = file !== undefined ? `--notify-url-file ${file}` : "SYSCONFIG_NOTIFY_URL";
  const raw =
    file !== undefined
      ? readSecretFile(file, "--notify-url-file").toString("utf8")
      : env.SYSCONFIG_NOTIFY_URL;
  if (raw === undefined || raw === "") return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw.trim());
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    // The value is a secret (the hook's token is in it): the message never quotes it.
    throw new InvalidInputError(
      `${source} failed: not an http(s) URL. Use the incoming-webhook URL your chat gives you ` +
        `(Slack: https://hooks.slack.com/services/…). Nothing was started.`,
    );
  }
  return url;
}
