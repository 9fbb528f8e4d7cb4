// What a template's text may hold, wherever it comes from (the config repo's templates/, bump --template):
// printable text, newlines and tabs. A raw control byte (ESC, BEL, CR, NUL, …) would be copied into unit
// files and manifests, and shown in bump's diff, where it can rewrite the terminal or forge a log line.
import { InvalidInputError } from "../errors.js";
import { shown } from "../text/escape.js";

/** C0/C1 control characters and DEL, except newline and tab. */
const CONTROL = /[^\P{Cc}\n\t]/u;

/** The size a template may have (1 MiB): a template is a page of text, not data. */
export const MAX_TEMPLATE_BYTES = 1024 * 1024;

/** Throws InvalidInputError (exit 3) naming the template, the line and the character. */
export function checkTemplateText(text: string, label: string): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_TEMPLATE_BYTES) {
    throw new InvalidInputError(
      `${label}: ${bytes} bytes is too large for a template (1 MiB at most). A template is the text of one ` +
        `unit file or manifest with {{…}} in it; keep data in sysconfig.yaml.`,
    );
  }
  const control = CONTROL.exec(text);
  if (control === null) return;
  const line = text.slice(0, control.index).split("\n").length;
  throw new InvalidInputError(
    `${label}:${line}: the template holds the control character ${shown(control[0])} (only ` +
      `printable text, newlines and tabs are accepted: control characters would reach unit files, manifests and ` +
      `the terminal that shows the diff). Remove it${control[0] === "\r" ? " (save the file with \\n line endings)" : ""}.`,
  );
}
