// Text files of the config repo (sysconfig.yaml, templates, rendered files) are UTF-8: a byte that is
// not is refused with the file and its offset, instead of silently becoming U+FFFD in what is deployed.
import { readFile } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { InvalidInputError } from "../errors.js";

/** The offset of the first byte of the first sequence that is not valid UTF-8, or -1. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return -1;
}

/** The length of the valid UTF-8 sequence at `i` (RFC 3629: no overlongs, surrogates or > U+10FFFF), or 0. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] ?? 0;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** Decodes `bytes` as UTF-8 or throws InvalidInputError naming `label` and the byte offset. */
export function decodeUtf8(
  bytes: Uint8Array,
  label: string,
  fix = "Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
): string {
  const offset = invalidUtf8Offset(bytes);
  if (offset >= 0) {
    const byte = bytes[offset] ?? 0;
    throw new InvalidInputError(
      `${label}: not UTF-8 text: byte 0x${byte.toString(16).padStart(2, "0")} at offset ${offset} ` +
        `(line ${lineAt(bytes, offset)}) is not valid UTF-8. ${fix}; ` +
        `sysconfig does not guess, so nothing is deployed with a replaced character. Nothing was changed.`,
    );
  }
  // The BOM is not content: TextDecoder drops it, as editors do.
  return decoder.decode(bytes);
}
const decoder = new TextDecoder("utf-8");

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i += 1) if (bytes[i] === 0x0a) line += 1;
  return line;
}

/** readFile(file, "utf8"), but refusing bytes that are not UTF-8 (errors from reading propagate). */
export async function readUtf8(file: string, label: string = file): Promise<string> {
  return decodeUtf8(await readFile(file), label);
}
