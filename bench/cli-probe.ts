// One CLI process measured from inside: a module preloaded with --import writes the process's wall, CPU
// (user + system) and peak RSS at exit on fd 3, so the figures are the run's own, not the spawner's.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";

export interface Run {
  wallMs: number;
  cpuMs: number;
  rssMb: number;
  exitCode: number;
}

const PROBE = `
import { writeSync } from "node:fs";
process.on("exit", (code) => {
  const cpu = process.cpuUsage();
  writeSync(3, JSON.stringify({ wallMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000,
    rssMb: Math.round(process.resourceUsage().maxRSS / 1024), exitCode: code }));
});
`;

/** Writes the probe module into DIR; its path is what runCli takes. */
export async function writeProbe(dir: string): Promise<string> {
  const probe = path.join(dir, "probe.mjs");
  await writeFile(probe, PROBE);
  return probe;
}

/** Runs `node FLAGS --import PROBE MAIN ARGS` and resolves with the figures the probe wrote. */
export function runCli(probe: string, flags: readonly string[], main: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...flags, "--import", probe, main, ...args], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    (proc.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => (out += d.toString()));
    proc.once("error", reject);
    proc.once("close", () => {
      try {
        resolve(JSON.parse(out) as Run);
      } catch (error) {
        reject(new Error(`sysconfig ${args.join(" ")} printed no figures: ${err}`, { cause: error }));
      }
    });
  });
}
