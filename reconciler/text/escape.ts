// How user-supplied text is shown in errors and logs: control characters made visible, so a value can
// neither rewrite the terminal (ESC sequences, BEL) nor forge a line in a CI log (a newline).

/** C0 and C1 control characters and DEL (newline included: escaped inside quoted values). */
const CONTROL = /\p{Cc}/gu;
/** The same, except newline and tab, which a multi-line message may use as layout. */
const CONTROL_BUT_LAYOUT = /[^\P{Cc}\n\t]/gu;

const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

function visible(char: string): string {
  return SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** Every control character as an escape (`\e`, `\n`, `\u0007`): for one value inside a message. */
export function escapeControls(value: string): string {
  return value.replace(CONTROL, visible);
}

/** A whole message or log line: control characters escaped, its own newlines and tabs kept. */
export function escapeForTerminal(text: string): string {
  return text.replace(CONTROL_BUT_LAYOUT, visible);
}

/** At most `max` values, each shown(), then "and N more": a list of keys from a file never floods a message. */
export function shownList(values: readonly string[], max = 3): string {
  const head = values.slice(0, max).map(shown).join(", ");
  return values.length > max ? `${head} and ${values.length - max} more` : head;
}

/** A user-supplied value quoted for a message: JSON-quoted (controls made visible), long values cut. */
export function shown(value: string): string {
  // JSON.stringify escapes C0 but leaves DEL and C1 (U+0080–U+009F) raw: those are made visible too.
  const json = JSON.stringify(value).replace(
    CONTROL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return json.length > 90 ? `${json.slice(0, 87)}..."` : json;
}
