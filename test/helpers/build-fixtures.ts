// Fixtures for the build tests: a config repo made by `sysconfig init`, commits, and reading files
// and running commands in images through a real engine.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { extract } from "tar-stream";
import { parseDocument } from "yaml";
import { silentProgress } from "../../cli/images/progress.js";
import { buildReconcilerImage, LOCAL_NODE_IMAGE } from "../../cli/images/reconciler-image.js";
import { runCli } from "./cli.js";

const execFileAsync = promisify(execFile);

export const GIT_ENV = {
  GIT_AUTHOR_NAME: "test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

export async function git(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("git", args, { cwd: dir, env: { ...process.env, ...GIT_ENV } });
  return stdout.trim();
}

/** `sysconfig init dir`: the example repo, on branch develop, rendered/ current. */
export async function initConfigRepo(dir: string): Promise<void> {
  const result = await runCli(["init", dir], { env: GIT_ENV });
  if (result.code !== 0) throw new Error(`sysconfig init failed: ${result.stderr}`);
}

/** Changes one service's tag, re-renders and commits: a one-service change. */
export async function bumpInPlace(dir: string, service: string, tag: string): Promise<void> {
  const file = path.join(dir, "sysconfig.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  doc.setIn(["services", service, "tag"], tag);
  await writeFile(file, doc.toString());
  const render = await runCli(["render", "--repo", dir]);
  if (render.code !== 0) throw new Error(`render failed: ${render.stderr}`);
  await git(dir, "commit", "-qam", `Updating ${service} tag to '${tag}'`);
}

/** Files under `dir` in `image`, read with create + getArchive (no container is started). */
export async function readImageFiles(
  docker: Docker,
  image: string,
  dir: string,
): Promise<Map<string, string>> {
  const container = await docker.createContainer({ Image: image, Cmd: ["true"], NetworkDisabled: true });
  try {
    const stream = await container.getArchive({ path: dir });
    const files = new Map<string, string>();
    const ex = extract();
    ex.on("entry", (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on("data", (c) => chunks.push(c as Buffer));
      body.on("end", () => {
        if (header.type === "file") files.set(header.name, Buffer.concat(chunks).toString());
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      ex.on("finish", resolve);
      ex.on("error", reject);
      stream.pipe(ex);
    });
    return files;
  } finally {
    await removeContainer(container);
  }
}

/** `docker run --rm --network none IMAGE ARGS…`: exit code and output. */
export async function runInImage(
  docker: Docker,
  image: string,
  args: string[],
  options: { entrypoint?: string[] } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: args,
    ...(options.entrypoint === undefined ? {} : { Entrypoint: options.entrypoint }),
    HostConfig: { NetworkMode: "none" },
  });
  try {
    await container.start();
    const StatusCode = await exitCodeOf(container);
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    const { stdout, stderr } = demuxLogs(logs);
    return { code: StatusCode, stdout, stderr };
  } finally {
    await removeContainer(container);
  }
}

/**
 * The container's exit code. `wait` is a long-poll the engine may drop under load ("socket hang up",
 * seen on vfs with two image builds running); asking again is safe: for an exited container it answers
 * at once with the same code.
 */
export async function exitCodeOf(container: Docker.Container): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return ((await container.wait()) as { StatusCode: number }).StatusCode;
    } catch (error) {
      const dropped = /socket hang up|ECONNRESET/.test(String((error as Error).message ?? error));
      if (!dropped || attempt >= 3) throw error;
    }
  }
}

/** Removes every given reference from the engine (ignoring ones already gone). */
export async function removeImages(docker: Docker, references: readonly string[]): Promise<void> {
  for (const reference of references) {
    try {
      await docker.getImage(reference).remove({ force: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
}

/** The reconciler image the test's config images build on (the engine's cache makes repeats cheap). */
export async function testBaseImage(docker: Docker): Promise<string> {
  return (await buildReconcilerImage(docker, { nodeImage: LOCAL_NODE_IMAGE, progress: silentProgress }))
    .reference;
}

/** Removes `created` and every image the test run `run` tagged, including references of builds that failed to push. */
export async function removeRunImages(
  docker: Docker,
  run: string,
  created: readonly string[],
): Promise<void> {
  const images = await docker.listImages();
  const ours = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.includes(`sysconfig-test-${run}/`));
  await removeImages(docker, [...created, ...ours]);
}

/** Tags a registry holds for `repository` (GET /v2/<name>/tags/list), [] when it has none. */
export async function registryTags(
  registry: string,
  repository: string,
  auth?: { username: string; password: string },
): Promise<string[]> {
  const headers: Record<string, string> =
    auth === undefined
      ? {}
      : { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` };
  const response = await fetch(`http://${registry}/v2/${repository}/tags/list`, { headers });
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`registry ${registry} answered ${response.status}`);
  const body = (await response.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/**
 * Removes a container the test ran. The engine may already be removing it (409 "removal … is already in
 * progress", seen when a dropped wait long-poll was asked again) or have removed it (404): both are done.
 */
/** A container's log stream (not a TTY) split into stdout and stderr by the engine's 8-byte frame headers. */
export function demuxLogs(logs: Buffer): { stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  for (let offset = 0; offset + 8 <= logs.length;) {
    const size = logs.readUInt32BE(offset + 4);
    const text = logs.subarray(offset + 8, offset + 8 + size).toString();
    if (logs[offset] === 2) stderr += text;
    else stdout += text;
    offset += 8 + size;
  }
  return { stdout, stderr };
}

export async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw error;
  }
}
