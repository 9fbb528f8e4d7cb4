// The words a SYSCONFIG_* boolean variable may hold, read the same by the CLI and the image script.
const TRUE_WORDS = new Set(["1", "true", "yes"]);
const FALSE_WORDS = new Set(["0", "false", "no"]);

/** 1/true/yes → true, 0/false/no → false (any case, surrounding blanks ignored), anything else undefined. */
export function booleanWord(raw: string): boolean | undefined {
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}
