// bench/build: `sysconfig build` against a naive `COPY . /config` Dockerfile (context = the whole
// repo directory, .git included) on a 100-service config repo, both FROM the cached reconciler image:
// cold build, config-only rebuild after a one-service change, config layer size, and whether two
// fresh checkouts of one commit give the same layer. Run: node dist/bench/build.js [services]
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { buildConfigImage } from "../cli/images/config-image.js";
import { dockerClient } from "../cli/images/docker-engine.js";
import { buildOnEngine, imageLayers, tagImage } from "../cli/images/engine-build.js";
import { silentProgress } from "../cli/images/progress.js";
import { buildReconcilerImage, LOCAL_NODE_IMAGE } from "../cli/images/reconciler-image.js";
import { loadConfig } from "../reconciler/config/load.js";
import { findStale } from "../reconciler/render/compare.js";
import { renderAll } from "../reconciler/render/render.js";
import { writeRendered } from "../reconciler/render/write.js";
import { tempDir } from "../test/helpers/tmp.js";

const execFileAsync = promisify(execFile);
const services = Number(process.argv[2] ?? 100);
const docker = dockerClient(process.env);
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
};
const git = (cwd: string, ...args: string[]) => execFileAsync("git", args, { cwd, env: gitEnv });

function configYaml(tags: (i: number) => string): string {
  const lines = [
    "name: bench",
    "image: sysconfig-bench/config",
    "environments:",
    "  develop: { target: { kind: docker } }",
    "  staging: { target: { kind: fleet } }",
    "services:",
  ];
  for (let i = 1; i <= services; i++) {
    const name = `svc-${String(i).padStart(3, "0")}`;
    lines.push(
      `  ${name}:`,
      `    image: registry.example.com/acme/${name}`,
      `    tag: ${tags(i)}`,
      `    ports: [{ container: ${8000 + i} }]`,
      `    env: { LOG_LEVEL: info, SERVICE_NAME: ${name} }`,
      `    health: { http: { path: /healthz, port: ${8000 + i} } }`,
      ...(i % 10 === 0 ? ["    instances: 3"] : []),
    );
  }
  return `${lines.join("\n")}\n`;
}

async function writeAndRender(repo: string, tags: (i: number) => string): Promise<void> {
  await writeFile(path.join(repo, "sysconfig.yaml"), configYaml(tags));
  const config = await loadConfig(repo);
  await writeRendered(repo, await findStale(repo, await renderAll(repo, config, "develop")));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** The naive way: `tar` the checkout as it is (mtimes, owners, .git) and `COPY . /config`. */
async function naiveBuild(repo: string, base: string, reference: string, noCache: boolean) {
  // The Dockerfile sits beside the checkout and is added to the same tar, as `docker build .` sends it.
  const dockerfileDir = `${repo}.naive`;
  await mkdir(dockerfileDir, { recursive: true });
  await writeFile(path.join(dockerfileDir, "Dockerfile"), `FROM ${base}\nCOPY . /config\n`);
  const { stdout: context } = await execFileAsync(
    "tar",
    ["-cf", "-", "-C", repo, ".", "-C", dockerfileDir, "Dockerfile"],
    { encoding: "buffer", maxBuffer: 1 << 30 },
  );
  const imageId = await buildOnEngine(docker, {
    subject: `naive image ${reference}`,
    context,
    noCache,
    progress: silentProgress,
  });
  await tagImage(docker, imageId, reference);
  const layers = await imageLayers(docker, imageId);
  const history = (await docker.getImage(imageId).history()) as { Size: number }[];
  return { imageId, layer: layers.at(-1) ?? "", size: history[0]?.Size ?? 0, contextBytes: context.length };
}

const kb = (n: number | undefined) => (n === undefined ? "?" : `${(n / 1024).toFixed(1)} KB`);
const s = (n: number) => `${n.toFixed(2)} s`;

async function main(): Promise<void> {
  const { dir, cleanup } = await tempDir("sysconfig-bench-build-");
  try {
    const reconciler = await timed(() =>
      buildReconcilerImage(docker, {
        nodeImage: process.env.NODE_IMAGE ?? LOCAL_NODE_IMAGE,
        progress: silentProgress,
      }),
    );
    const base = reconciler.value.reference;

    const repo = path.join(dir, "repo");
    await mkdir(repo);
    await git(repo, "init", "-q", "-b", "develop");
    await writeAndRender(repo, () => "1-develop");
    await git(repo, "add", ".");
    await git(repo, "commit", "-qm", `${services} services`);
    // Both checkouts name the same origin, as two CI runs of one repo would.
    const origin = "https://git.example.com/acme/sysconfig.git";
    await git(repo, "remote", "add", "origin", origin);
    const clone = path.join(dir, "clone");
    await git(dir, "clone", "-q", repo, clone);
    await git(clone, "remote", "set-url", "origin", origin);

    const image = "sysconfig-bench/config";
    const ours = (r: string, noCache: boolean) =>
      timed(() =>
        buildConfigImage(
          { repo: r, image, base, noCache },
          { docker: () => docker, env: {}, progress: silentProgress },
        ),
      );
    const checks = await timed(() =>
      buildConfigImage(
        { repo, image, base, dryRun: true },
        { docker: () => docker, env: {}, progress: silentProgress },
      ),
    );
    const oursCold = await ours(repo, true);
    const oursClone = await ours(clone, true);
    const naiveCold = await timed(() => naiveBuild(repo, base, "sysconfig-bench/naive:a", true));
    const naiveClone = await timed(() => naiveBuild(clone, base, "sysconfig-bench/naive:b", true));

    // A one-service change (what every bump is), then a cached rebuild.
    await writeAndRender(repo, (i) => (i === 42 ? "2-develop" : "1-develop"));
    await git(repo, "commit", "-qam", "Updating svc-042 tag to '2-develop'");
    const oursRebuild = await ours(repo, false);
    const naiveRebuild = await timed(() => naiveBuild(repo, base, "sysconfig-bench/naive:c", false));
    const repoBytes = Number((await execFileAsync("du", ["-sb", repo])).stdout.split("\t")[0]);
    const rendered = (await readFile(path.join(repo, "rendered/svc-042.yaml"), "utf8")).includes("2-develop");

    const rows: [string, string, string][] = [
      ["cold build (no cache)", s(oursCold.seconds), s(naiveCold.seconds)],
      [
        "config-only rebuild (1 of " + services + " services)",
        s(oursRebuild.seconds),
        s(naiveRebuild.seconds),
      ],
      ["  of which checks + context (--dry-run)", s(checks.seconds), "-"],
      ["config layer size", kb(oursCold.value.configLayerSize), kb(naiveCold.value.size)],
      ["context sent to the engine", kb(oursCold.value.contextBytes), kb(naiveCold.value.contextBytes)],
      [
        "same commit, fresh checkout → same layer",
        oursCold.value.configLayerDigest === oursClone.value.configLayerDigest ? "yes" : "NO",
        naiveCold.value.layer === naiveClone.value.layer ? "yes" : "no",
      ],
      [
        "same commit, fresh checkout → same image ID",
        oursCold.value.imageId === oursClone.value.imageId ? "yes" : "NO",
        naiveCold.value.imageId === naiveClone.value.imageId ? "yes" : "no",
      ],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(`bench/build: ${services} services (repo ${kb(repoBytes)} on disk), both FROM ${base}`);
    console.log(`${"".padEnd(width)}  ${"sysconfig build".padEnd(18)}  naive COPY . /config`);
    for (const [label, a, b] of rows) console.log(`${label.padEnd(width)}  ${a.padEnd(18)}  ${b}`);
    console.log(
      `reconciler image ${base}: ${(reconciler.value.size / 1e6).toFixed(1)} MB, ` +
        `${((reconciler.value.size - reconciler.value.baseSize) / 1e6).toFixed(1)} MB over ${reconciler.value.nodeImage} ` +
        `(${(reconciler.value.baseSize / 1e6).toFixed(1)} MB); built/checked in ${s(reconciler.seconds)}`,
    );
    console.log(
      `targets: rebuild < 3 s ${oursRebuild.seconds < 3 ? "met" : "MISSED"}; layer < 200 KB ${(oursCold.value.configLayerSize ?? Infinity) < 200 * 1024 ? "met" : "MISSED"}; ` +
        `one-service change rendered: ${rendered ? "yes" : "NO"}`,
    );
  } finally {
    const refs = ["sysconfig-bench/naive:a", "sysconfig-bench/naive:b", "sysconfig-bench/naive:c"];
    const ours = await docker.listImages({
      filters: JSON.stringify({ reference: ["sysconfig-bench/config"] }),
    });
    for (const ref of [...refs, ...ours.flatMap((i) => i.RepoTags ?? [])]) {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await cleanup();
  }
}

await main();
