// How core code reports progress without printing: the CLI passes a Reporter in.

export interface Reporter {
  /** A progress line for the operator (stderr). */
  info(message: string): void;
  warn(message: string): void;
  /** Verbose detail, shown only with --verbose. */
  debug(message: string): void;
}

/** A reporter that drops everything: for tests and library use. */
export const silentReporter: Reporter = {
  info: () => undefined,
  warn: () => undefined,
  debug: () => undefined,
};
