// sysconfig build's safety against the real engine and registry: the moving branch tag is never pushed from
// a commit behind the remote's tip, a reference re-tagged by another build is not pushed, and the Docker
// client is configured from the docker CLI's environment with timeouts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { dockerClient } from "../cli/build/docker-engine.js";
import { silentProgress } from "../cli/build/progress.js";
import { pushReferences } from "../cli/build/push.js";
import { buildReconcilerImage, LOCAL_NODE_IMAGE } from "../cli/build/reconciler-image.js";
import { runCli } from "./helpers/cli.js";
import { bumpInPlace, git, initConfigRepo, registryTags, removeImages } from "./helpers/build-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const docker = dockerClient(process.env);
const run = randomBytes(4).toString("hex");
const repository = `sysconfig-test-${run}/safety`;
const image = `127.0.0.1:5000/${repository}`;

let dir: string;
let cleanup: () => Promise<void>;
let base: string;
const created: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-build-safety-"));
  base = (await buildReconcilerImage(docker, { nodeImage: LOCAL_NODE_IMAGE, progress: silentProgress }))
    .reference;
}, 300_000);

afterAll(async () => {
  const images = await docker.listImages();
  const ours = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.includes(`sysconfig-test-${run}/`));
  await removeImages(docker, [...created, ...ours]);
  await cleanup();
});

async function build(repo: string, args: string[]) {
  const result = await runCli(
    ["build", "--repo", repo, "--base", base, "--image", image, "--push", "--output", "json", ...args],
    { env: { DOCKER_CONFIG: path.join(dir, "docker-empty"), BUILD_NUMBER: "" } },
  );
  if (result.code === 0) created.push(...(JSON.parse(result.stdout) as { references: string[] }).references);
  return result;
}

describe("the moving branch tag", () => {
  it("is not pushed from a checkout behind its upstream; the immutable tags are, with a warning", async () => {
    // A config repo with an upstream, then a newer commit lands on the upstream from elsewhere.
    const origin = path.join(dir, "origin");
    await initConfigRepo(origin);
    const remote = path.join(dir, "remote.git");
    await git(dir, "clone", "--quiet", "--bare", "--", origin, remote);
    const checkout = path.join(dir, "checkout");
    await git(dir, "clone", "--quiet", "--branch", "develop", "--", remote, checkout);
    const other = path.join(dir, "other");
    await git(dir, "clone", "--quiet", "--branch", "develop", "--", remote, other);
    await bumpInPlace(other, "hello", "7-develop");
    await git(other, "push", "--quiet", "origin", "develop");

    const stale = await git(checkout, "rev-parse", "HEAD");
    const result = await build(checkout, ["--build-num", "5"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `${image}:develop was not pushed: HEAD ${stale.slice(0, 7)} is not the tip`,
    );
    const json = JSON.parse(result.stdout) as { digests: Record<string, string> };
    expect(Object.keys(json.digests)).toEqual([`${image}:git-${stale.slice(0, 7)}`, `${image}:5-develop`]);
    expect((await registryTags("127.0.0.1:5000", repository)).sort()).toEqual(
      ["5-develop", `git-${stale.slice(0, 7)}`].sort(),
    );

    // Once the checkout is at the tip, the moving tag is pushed as usual.
    await git(checkout, "pull", "--quiet", "--ff-only");
    const tip = await git(checkout, "rev-parse", "HEAD");
    const current = await build(checkout, ["--build-num", "6"]);
    expect(current.code).toBe(0);
    expect(current.stderr).not.toContain("was not pushed");
    expect(await registryTags("127.0.0.1:5000", repository)).toContain("develop");
    expect(Object.keys((JSON.parse(current.stdout) as { digests: object }).digests)).toContain(
      `${image}:develop`,
    );
    expect(tip).not.toBe(stale);
  }, 240_000);

  it("is not pushed when another build re-tagged it on the shared engine meanwhile", async () => {
    const reference = `${image}:retagged`;
    await docker.getImage(base).tag({ repo: image, tag: "retagged" });
    created.push(reference);
    const ours = `sha256:${"0".repeat(64)}`;
    await expect(
      pushReferences(docker, "127.0.0.1:5000", [reference], undefined, silentProgress, ours),
    ).rejects.toThrow(/another build on the same engine re-tagged it/);
    expect(await registryTags("127.0.0.1:5000", repository)).not.toContain("retagged");
  });
});

describe("the Docker client", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("follows DOCKER_HOST=unix://…, as the docker CLI does", async () => {
    process.env.DOCKER_HOST = "unix:///var/run/docker.sock";
    expect(String(await dockerClient(process.env).ping())).toBe("OK");
    process.env.DOCKER_HOST = `unix://${path.join(dir, "no-engine.sock")}`;
    await expect(dockerClient(process.env).ping()).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("speaks TLS to a tcp:// host when DOCKER_TLS_VERIFY=1", () => {
    process.env.DOCKER_HOST = "tcp://127.0.0.1:2376";
    process.env.DOCKER_TLS_VERIFY = "1";
    const modem = (dockerClient(process.env) as unknown as { modem: Record<string, unknown> }).modem;
    expect(modem).toMatchObject({ protocol: "https", host: "127.0.0.1", port: "2376" });
  });

  it("reads DOCKER_CLIENT_TIMEOUT in seconds, as docker compose does, and ignores a value that is not digits", () => {
    const timeout = (env: NodeJS.ProcessEnv) =>
      (dockerClient(env) as unknown as { modem: { timeout: number } }).modem.timeout;
    expect(timeout({ DOCKER_CLIENT_TIMEOUT: "120" })).toBe(120_000);
    expect(timeout({ DOCKER_CLIENT_TIMEOUT: "2m" })).toBe(600_000);
    expect(timeout({})).toBe(600_000);
  });

  it("gives up on an engine that accepts the connection but never answers", async () => {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${port}`;
    const started = Date.now();
    try {
      await expect(dockerClient(process.env, { silenceMs: 500 }).ping()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.close();
    }
  });
});
