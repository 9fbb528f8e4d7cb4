// Runs the built CLI (dist/) as a real process, the way users and CI run it.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project root, from test/helpers/ or from its compiled copy in dist/test/helpers/ (benchmarks). */
export const ROOT = ((dir: string) => (path.basename(dir) === "dist" ? path.dirname(dir) : dir))(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
);
export const CLI = path.join(ROOT, "dist/cli/main.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** Any command from the project root, stdout and stderr interleaved. */
export function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

/** `npm run image`: the reconciler image under `tag`, on the local Node base image `nodeImage`. */
export async function buildReconcilerImage(tag: string, nodeImage: string): Promise<void> {
  const image = await runCommand(process.execPath, [path.join(ROOT, "dist/cli/image.js")], {
    NODE_IMAGE: nodeImage,
    SYSCONFIG_RECONCILER_IMAGE: tag,
  });
  if (image.code !== 0) throw new Error(`npm run image failed: ${image.out}`);
}
