// Parsers for the CLI's whole-number flags (and their SYSCONFIG_<FLAG> variables): digits only, within a range
// that makes sense for each. Durations stop at Node's timer limit: a longer setTimeout fires after 1 ms with
// a TimeoutOverflowWarning, which turned a 3,000,000 s health wait into an instant "unhealthy".
import { InvalidArgumentError } from "commander";

/** The longest duration in whole seconds a Node timer can hold (2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export interface NumberRange {
  min: number;
  max: number;
  /** "seconds", "objects", …: said in the message. */
  unit: string;
  /** Said when 0 is given and refused: what to do instead. */
  zeroHint?: string;
  /** Said after the range: why it stops there. */
  maxReason?: string;
}

/** A commander argParser for a whole number in `range`; anything else is exit 3 with the range. */
export function wholeNumber(range: NumberRange): (value: string) => number {
  return (value: string) => {
    // Digits only: Number("") is 0 and Number(" 7") is 7, neither of which anyone meant.
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    const allowed =
      `expected a whole number of ${range.unit} from ${range.min} to ${range.max}` +
      `${range.maxReason === undefined ? "" : ` (${range.maxReason})`}, digits only`;
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(allowed);
    if (n === 0 && range.min > 0 && range.zeroHint !== undefined) {
      throw new InvalidArgumentError(`${allowed}; 0 makes no sense here: ${range.zeroHint}`);
    }
    if (n < range.min || n > range.max) throw new InvalidArgumentError(allowed);
    return n;
  };
}

/** A duration in seconds, 1 up to Node's timer limit. */
export function seconds(zeroHint: string): (value: string) => number {
  return wholeNumber({
    min: 1,
    max: MAX_TIMER_SECONDS,
    unit: "seconds",
    zeroHint,
    maxReason: "Node's timer limit, about 24 days",
  });
}
