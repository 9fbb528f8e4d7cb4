// Turns whatever Handlebars throws (parse errors, strict-mode misses, a helper's error, its own internal
// TypeErrors) into one exit-3 error that names the template and the line, in sysconfig's words. Nothing of
// JavaScript's ("Cannot read properties of undefined") reaches the operator without the place it came from.
import { InvalidInputError, reasonOf } from "../errors.js";
import { escapeControls } from "../text/escape.js";
import { TemplateHelperError } from "./helpers.js";

/** A message part from Handlebars: control characters visible, one line, not longer than a line. */
function short(text: string, max = 200): string {
  const one = escapeControls(text.replace(/\n+/g, " "));
  return one.length > max ? `${one.slice(0, max - 3)}...` : one;
}

/** JavaScript's words for what Handlebars ran into, in a template author's words. */
const PLAIN: [RegExp, (m: RegExpExecArray) => string][] = [
  [
    /Cannot read propert(?:y|ies) of (?:undefined|null) \(reading '([^']*)'\)/,
    (m) => `'${m[1] ?? ""}' is read from a value that does not exist (check the path, and the depth of ../)`,
  ],
  [
    /Cannot use 'in' operator to search for '([^']*)' in/,
    (m) => `'${m[1] ?? ""}' is looked up in a value that is not a map or a list`,
  ],
  [/(\S+) is not a function/, () => "a value is called like a helper, but it is not one"],
  [/Maximum call stack size exceeded/, () => "the template nests too deep"],
];

function plain(message: string): string {
  for (const [pattern, say] of PLAIN) {
    const match = pattern.exec(message);
    if (match) return say(match);
  }
  return message;
}

const SEE = `See docs/templates.md for the variables and helpers a template may use.`;

export function templateError(label: string, error: unknown): InvalidInputError {
  if (error instanceof TemplateHelperError) {
    return new InvalidInputError(
      `${label}:${error.line ?? "?"}: template error: ${short(plain(error.message))}. ${SEE}`,
      { cause: error },
    );
  }
  const message = reasonOf(error);
  const missing = /^"([^"]+)" not defined in [\s\S]* - (\d+):(\d+)$/.exec(message);
  if (missing) {
    const [, variable = "", line] = missing;
    return new InvalidInputError(
      `${label}:${line}: template variable '${short(variable, 80)}' is not defined. ` +
        `Use one of the variables sysconfig provides (see docs/templates.md), or fix the spelling.`,
      { cause: error },
    );
  }
  // Handlebars' parser: "Parse error on line N:\n<excerpt>\n----^\nExpecting …, got …": all of it, by file and line.
  const parse = /^Parse error on line (\d+):\n([\s\S]*)$/.exec(message);
  if (parse) {
    const [, line, detail = ""] = parse;
    const lines = detail.split("\n");
    const expecting = lines.filter((l) => /^Expecting |^Unexpected /.test(l)).join(" ");
    // The parser's own excerpt is at most ~40 characters around the error: kept, escaped.
    const excerpt = lines
      .filter((l) => !/^Expecting |^Unexpected /.test(l))
      .slice(0, 2)
      .map((l) => `    ${short(l, 100)}`);
    return new InvalidInputError(
      `${label}:${line}: template syntax error: ${short(expecting) || "Handlebars cannot parse it"}\n${excerpt.join("\n")}\n` +
        `Fix the template's {{…}} expression there. ${SEE}`,
      { cause: error },
    );
  }
  const line = lineOf(error) ?? /(?: - |line )(\d+)(?::\d+)?$/.exec(message)?.[1];
  return new InvalidInputError(
    `${label}${line === undefined ? "" : `:${line}`}: template error: ${short(plain(message.replace(/ - \d+:\d+$/, "")))}. ${SEE}`,
    { cause: error },
  );
}

/** Handlebars' compile-time exceptions carry `lineNumber`. */
function lineOf(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "lineNumber" in error) {
    const value = error.lineNumber;
    if (typeof value === "number") return String(value);
  }
  return undefined;
}
