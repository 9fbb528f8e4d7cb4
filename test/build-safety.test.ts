// sysconfig build's safety against the real engine and registry: the moving branch tag is never pushed from
// a commit behind the remote's tip (checked right before its push), a tip that cannot be read fails the
// build after the immutable tags (unless --skip-tip-check), a reference re-tagged by another build is not pushed, and the Docker
// client is configured from the docker CLI's environment with timeouts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { buildConfigImage } from "../cli/images/config-image.js";
import { defaultTcpPort, dockerClient } from "../cli/images/docker-engine.js";
import { silentProgress } from "../cli/images/progress.js";
import { pushReferences } from "../cli/images/push.js";
import { runCli } from "./helpers/cli.js";
import {
  bumpInPlace,
  git,
  GIT_ENV,
  initConfigRepo,
  registryTags,
  removeRunImages,
  testBaseImage,
} from "./helpers/build-fixtures.js";
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
  base = await testBaseImage(docker);
}, 300_000);

afterAll(async () => {
  await removeRunImages(docker, run, created);
  await cleanup();
});

async function build(repo: string, args: string[], to = image, env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(
    ["build", "--repo", repo, "--base", base, "--image", to, "--push", "--output", "json", ...args],
    { env: { DOCKER_CONFIG: path.join(dir, "docker-empty"), BUILD_NUMBER: "", ...env } },
  );
  if (result.stdout.trim() !== "")
    created.push(...(JSON.parse(result.stdout) as { references: string[] }).references);
  return result;
}

interface BuildJson {
  digests: Record<string, string>;
  pushed: boolean;
  pushedReferences: string[];
  movingTag: { reference: string; pushed: boolean; check: string; reason?: string } | null;
}

/** A clone of a bare remote made from a fresh config repo, on develop, tracking origin/develop. */
async function clonedRepo(name: string): Promise<{ remote: string; checkout: string }> {
  const origin = path.join(dir, `${name}-origin`);
  await initConfigRepo(origin);
  const remote = path.join(dir, `${name}-remote.git`);
  await git(dir, "clone", "--quiet", "--bare", "--", origin, remote);
  const checkout = path.join(dir, `${name}-checkout`);
  await git(dir, "clone", "--quiet", "--branch", "develop", "--", remote, checkout);
  return { remote, checkout };
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
    const json = JSON.parse(result.stdout) as BuildJson;
    expect(Object.keys(json.digests)).toEqual([`${image}:git-${stale.slice(0, 7)}`, `${image}:5-develop`]);
    expect(json.pushedReferences).toEqual([`${image}:git-${stale.slice(0, 7)}`, `${image}:5-develop`]);
    expect(json.movingTag).toMatchObject({ reference: `${image}:develop`, pushed: false, check: "not-tip" });
    expect(json.movingTag?.reason).toContain(`HEAD ${stale.slice(0, 7)} is not the tip`);
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
    const currentJson = JSON.parse(current.stdout) as BuildJson;
    expect(Object.keys(currentJson.digests)).toContain(`${image}:develop`);
    expect(currentJson.movingTag).toEqual({ reference: `${image}:develop`, pushed: true, check: "verified" });
    expect(tip).not.toBe(stale);
  }, 240_000);

  it("is not moved when the remote's tip cannot be read: the immutable tags are pushed and the build fails", async () => {
    const name = `${repository}-unreadable`;
    const target = `127.0.0.1:5000/${name}`;
    const { checkout } = await clonedRepo("unreadable");
    // CI without git credentials at build time: the upstream exists in the config but cannot be read.
    await git(checkout, "remote", "set-url", "origin", path.join(dir, "no-such-remote.git"));
    const head = (await git(checkout, "rev-parse", "HEAD")).slice(0, 7);

    const result = await build(checkout, ["--build-num", "5"], target);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${target}:develop was NOT moved`);
    expect(result.stderr).toContain(`pushed ${target}:git-${head}, ${target}:5-develop`);
    expect(result.stderr).toContain("does not appear to be a git repository"); // git's own reason
    expect(result.stderr).toContain("--skip-tip-check (SYSCONFIG_SKIP_TIP_CHECK=1)");
    const json = JSON.parse(result.stdout) as BuildJson;
    expect(json.pushedReferences).toEqual([`${target}:git-${head}`, `${target}:5-develop`]);
    expect(json.movingTag).toMatchObject({
      reference: `${target}:develop`,
      pushed: false,
      check: "unreadable",
    });
    expect((await registryTags("127.0.0.1:5000", name)).sort()).toEqual([`git-${head}`, "5-develop"].sort());

    // --skip-tip-check moves it without the check; so does SYSCONFIG_SKIP_TIP_CHECK=1.
    const skipped = await build(checkout, ["--build-num", "5", "--skip-tip-check"], target);
    expect(skipped.code).toBe(0);
    expect((JSON.parse(skipped.stdout) as BuildJson).movingTag).toEqual({
      reference: `${target}:develop`,
      pushed: true,
      check: "skipped",
    });
    expect(await registryTags("127.0.0.1:5000", name)).toContain("develop");
    const fromEnv = await build(checkout, ["--build-num", "6"], target, { SYSCONFIG_SKIP_TIP_CHECK: "1" });
    expect(fromEnv.code).toBe(0);
    expect((JSON.parse(fromEnv.stdout) as BuildJson).movingTag?.check).toBe("skipped");
  }, 240_000);

  it("is checked again right before its push, so a build overtaken meanwhile does not move it", async () => {
    const name = `${repository}-overtaken`;
    const target = `127.0.0.1:5000/${name}`;
    const { checkout } = await clonedRepo("overtaken");
    // A newer commit, committed elsewhere, lands on the remote while this build pushes its immutable tags.
    const other = path.join(dir, "overtaken-other");
    await git(
      dir,
      "clone",
      "--quiet",
      "--branch",
      "develop",
      "--",
      path.join(dir, "overtaken-remote.git"),
      other,
    );
    await bumpInPlace(other, "hello", "8-develop");
    let landed = false;
    const progress = {
      ...silentProgress,
      line(message: string) {
        if (!landed && message.startsWith(`push: ${target}:git-`)) {
          execFileSync("git", ["push", "--quiet", "origin", "develop"], {
            cwd: other,
            env: { ...process.env, ...GIT_ENV },
          });
          landed = true;
        }
      },
    };
    const result = await buildConfigImage(
      { repo: checkout, image: target, base, buildNum: "9", push: true },
      {
        docker: () => docker,
        env: { ...process.env, DOCKER_CONFIG: path.join(dir, "docker-empty") },
        progress,
      },
    );
    created.push(...result.references);
    expect(landed).toBe(true);
    expect(result.movingTag).toMatchObject({
      reference: `${target}:develop`,
      pushed: false,
      check: "not-tip",
    });
    expect(result.pushedReferences).toEqual(result.references.slice(0, -1));
    expect(await registryTags("127.0.0.1:5000", name)).not.toContain("develop");
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

  it("connects a DOCKER_HOST without a port to 2375, or 2376 with TLS, as the docker CLI does", () => {
    const modem = (env: NodeJS.ProcessEnv) => {
      process.env.DOCKER_HOST = env.DOCKER_HOST;
      if (env.DOCKER_TLS_VERIFY === undefined) delete process.env.DOCKER_TLS_VERIFY;
      else process.env.DOCKER_TLS_VERIFY = env.DOCKER_TLS_VERIFY;
      return (dockerClient(process.env) as unknown as { modem: Record<string, unknown> }).modem;
    };
    expect(modem({ DOCKER_HOST: "tcp://engine.example" })).toMatchObject({
      protocol: "http",
      host: "engine.example",
      port: "2375",
    });
    expect(modem({ DOCKER_HOST: "tcp://engine.example", DOCKER_TLS_VERIFY: "1" })).toMatchObject({
      protocol: "https",
      port: "2376",
    });
    // A bare host is refused (exit 3) with the tcp:// form to write, instead of a DNS lookup of whatever it holds.
    expect(() => modem({ DOCKER_HOST: "engine.example" })).toThrow(
      /DOCKER_HOST\) is invalid: it has no scheme \(write tcp:\/\/engine\.example:2375/,
    );
    expect(modem({ DOCKER_HOST: "tcp://engine.example:1234" })).toMatchObject({ port: "1234" });
    expect(defaultTcpPort({ DOCKER_HOST: "ssh://me@engine.example" })).toEqual({});
    expect(defaultTcpPort({ DOCKER_HOST: "unix:///var/run/docker.sock" })).toEqual({});
    expect(defaultTcpPort({})).toEqual({});
  });

  it("reads DOCKER_CLIENT_TIMEOUT in seconds, as docker compose does, and refuses a value that is not whole seconds", () => {
    const timeout = (env: NodeJS.ProcessEnv) =>
      (dockerClient(env) as unknown as { modem: { timeout: number } }).modem.timeout;
    expect(timeout({ DOCKER_CLIENT_TIMEOUT: "120" })).toBe(120_000);
    expect(() => timeout({ DOCKER_CLIENT_TIMEOUT: "2m" })).toThrow(/DOCKER_CLIENT_TIMEOUT="2m" is invalid/);
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
