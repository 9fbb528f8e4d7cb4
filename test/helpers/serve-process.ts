// Runs `sysconfig serve` from dist/ as a real process on a loopback port the OS picks, and reads its
// JSON event lines (stdout is a pipe, so serve writes JSON), for the serve tests and the soak benchmark.
import { spawn, type ChildProcess } from "node:child_process";
import { CLI, ROOT } from "./cli.js";

export interface ServeEvent {
  time: string;
  level: string;
  event: string;
  [field: string]: unknown;
}

export interface ServeProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  events: ServeEvent[];
  stderr(): string;
  /** Resolves with the first event (already seen or yet to come) that matches. */
  waitFor(match: (e: ServeEvent) => boolean, timeoutMs?: number, what?: string): Promise<ServeEvent>;
  /** Events named `event`, e.g. every run.finished. */
  named(event: string): ServeEvent[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startServe(
  args: readonly string[],
  /** nodeFlags: V8 flags before the CLI (the reconciler image's launcher passes cli/images/node-flags.ts). */
  options: { env?: NodeJS.ProcessEnv; cwd?: string; nodeFlags?: readonly string[] } = {},
): Promise<ServeProcess> {
  const flags = options.nodeFlags ?? [];
  const child = spawn(process.execPath, [...flags, CLI, "serve", "--listen", "127.0.0.1:0", ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: ServeEvent[] = [];
  const waiters: { match: (e: ServeEvent) => boolean; resolve: (e: ServeEvent) => void }[] = [];
  let buffered = "";
  let stderr = "";
  let stdoutNoise = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let event: ServeEvent;
      try {
        event = JSON.parse(line) as ServeEvent;
      } catch {
        stdoutNoise += `${line}\n`;
        continue;
      }
      events.push(event);
      for (const w of [...waiters]) {
        if (w.match(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (match: (e: ServeEvent) => boolean, timeoutMs = 30_000, what = "event") => {
    const seen = events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<ServeEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `serve: no ${what} within ${timeoutMs} ms.\nevents:\n${events.map((e) => JSON.stringify(e)).join("\n")}\n` +
              `stderr:\n${stderr}${stdoutNoise}`,
          ),
        );
      }, timeoutMs);
      waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
      void exited.then(() => {
        clearTimeout(timer);
        const late = events.find(match);
        if (late) resolve(late);
        else reject(new Error(`serve exited before ${what}; stderr:\n${stderr}${stdoutNoise}`));
      });
    });
  };
  const started = await waitFor((e) => e.event === "serve.started", 30_000, "serve.started");
  const listen = String(started.listen);
  return {
    child,
    base: `http://${listen}`,
    events,
    stderr: () => stderr,
    waitFor,
    named: (event) => events.filter((e) => e.event === event),
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** The value of one Prometheus sample, e.g. metric(text, 'sysconfig_runs_total{result="success"}'). */
export function metric(text: string, sample: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
