// Real-engine fixtures for the docker target tests, bench and demo test: tiny images built locally
// FROM sysconfig-base/busybox:latest, free loopback ports, config repos in git, cleanup by system.
import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import Dockerode from "dockerode";
import { simpleGit } from "simple-git";
import tar from "tar-stream";
import { loadConfig } from "../../reconciler/config/load.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { writeRendered } from "../../reconciler/render/write.js";

export const docker = new Dockerode({ socketPath: "/var/run/docker.sock" });

/** A system name no other test (or helper) uses: `<prefix>-<6 hex>`. */
export function uniqueSystem(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Builds an image from in-memory files (must include a Dockerfile). */
export async function buildImage(tag: string, files: Record<string, string>): Promise<void> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  const stream = await docker.buildImage(pack as unknown as NodeJS.ReadableStream, {
    t: tag,
    rm: true,
    forcerm: true,
  });
  const events = await new Promise<{ error?: string }[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) =>
      err ? reject(err) : resolve(out),
    );
  });
  const failed = events.find((e) => e.error !== undefined);
  if (failed) throw new Error(`docker build ${tag} failed: ${failed.error}`);
}

/** A busybox httpd image serving `body` at / (no index.html when body is undefined: every GET is 404). */
export async function buildWebImage(tag: string, body: string | undefined): Promise<void> {
  const files: Record<string, string> = {
    Dockerfile: "FROM sysconfig-base/busybox:latest\nCOPY www /www\n",
    "www/.keep": "",
  };
  if (body !== undefined) files["www/index.html"] = body;
  await buildImage(tag, files);
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Every container of a system: labelled for it, or named `<system>-…` (look-alikes included). */
export async function containersOf(system: string): Promise<Dockerode.ContainerInfo[]> {
  const all = await docker.listContainers({ all: true });
  return all
    .filter(
      (c) =>
        c.Labels?.["io.sysconfig.system"] === system ||
        c.Names.some((n) => n.startsWith(`/${system}-`) || n === `/sysconfig-lock-${system}`),
    )
    .sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
}

export function nameOf(container: Dockerode.ContainerInfo): string {
  return (container.Names[0] ?? "").replace(/^\//, "");
}

export async function removeSystem(system: string): Promise<void> {
  for (const c of await containersOf(system)) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

/** GET http://127.0.0.1:PORT/ → body, or "" when nothing answers. */
export async function httpGet(port: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    return await res.text();
  } catch {
    return "";
  }
}

/** Writes sysconfig.yaml, renders it for `environment` and commits both, as a config repo would hold them. */
export async function commitConfig(
  dir: string,
  yaml: string,
  message: string,
  environment = "main",
): Promise<void> {
  const git = simpleGit(dir);
  if (!(await git.checkIsRepo().catch(() => false))) {
    await git.init(["-q", "-b", environment]);
    await git.addConfig("user.email", "test@sysconfig.invalid").addConfig("user.name", "sysconfig test");
  }
  await writeFile(path.join(dir, "sysconfig.yaml"), yaml);
  const config = await loadConfig(dir);
  await writeRendered(dir, await findStale(dir, await renderAll(dir, config, environment)));
  await git.add(["-A"]);
  await git.commit(message, ["--allow-empty"]);
}
