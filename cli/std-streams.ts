// stdout and stderr that a closed reader cannot crash. `sysconfig plan | head -1`, a log shipper that
// restarts, a terminal that went away: the write fails with EPIPE, and Node turns an unhandled stream
// error into a crash with a stack trace (a serve gone mid-run, its lock left behind). Here a stream that
// failed once is marked closed and later writes are dropped; the command itself runs on to its end (a
// reconcile finishes its changes and releases its lock) and exits with its own code, quietly, as git does.

export interface GuardedStream {
  write(text: string): void;
  /** True once a write failed (EPIPE: the reader is gone); later writes are dropped. */
  readonly closed: boolean;
}

export function guardStream(stream: NodeJS.WriteStream): GuardedStream {
  let closed = false;
  // Any error on a standard stream means nothing more can be written there; none of them is worth a crash.
  stream.on("error", () => {
    closed = true;
  });
  return {
    write(text) {
      if (closed || stream.destroyed) return;
      try {
        stream.write(text);
      } catch {
        closed = true;
      }
    },
    get closed() {
      return closed || stream.destroyed;
    },
  };
}

let standard: { out: GuardedStream; err: GuardedStream } | undefined;

/** The process's stdout and stderr, guarded once for every writer (results, logs, commander's help and errors). */
export function standardStreams(): { out: GuardedStream; err: GuardedStream } {
  return (standard ??= { out: guardStream(process.stdout), err: guardStream(process.stderr) });
}
