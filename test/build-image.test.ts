// sysconfig build against the real engine and registries: push, pull back, labels and baked files,
// validate inside the image, same commit → same config layer, registry auth.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildConfigImage } from "../cli/images/config-image.js";
import { dockerClient, followStream } from "../cli/images/docker-engine.js";
import { imageLayers } from "../cli/images/engine-build.js";
import { silentProgress } from "../cli/images/progress.js";
import { runCli } from "./helpers/cli.js";
import {
  bumpInPlace,
  git,
  initConfigRepo,
  readImageFiles,
  registryTags,
  removeImages,
  removeRunImages,
  runInImage,
  testBaseImage,
} from "./helpers/build-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const docker = dockerClient(process.env);
const run = randomBytes(4).toString("hex");
const PASSWORD_FILE = "/var/lib/sysconfig-services/registry/password";

interface BuildJson {
  image: string;
  references: string[];
  digests: Record<string, string>;
  configLayerDigest: string;
  revision: string;
  branch: string;
  pushed: boolean;
}

let dir: string;
let cleanup: () => Promise<void>;
let repo: string;
let emptyDockerConfig: string;
let base: string;
const created: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-build-image-"));
  repo = path.join(dir, "repo");
  emptyDockerConfig = path.join(dir, "docker-empty");
  await initConfigRepo(repo);
  base = await testBaseImage(docker);
}, 300_000);

afterAll(async () => {
  await removeRunImages(docker, run, created);
  await cleanup();
});

async function build(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(["build", "--repo", repo, "--base", base, ...args], {
    env: { DOCKER_CONFIG: emptyDockerConfig, BUILD_NUMBER: "", ...env },
  });
  return result;
}

describe("sysconfig build --push", () => {
  const image = `127.0.0.1:5000/sysconfig-test-${run}/acme`;
  let json: BuildJson;
  let stderr: string;

  beforeAll(async () => {
    const result = await build(["--image", image, "--build-num", "58", "--push", "--output", "json"]);
    stderr = result.stderr;
    expect(result.code).toBe(0);
    json = JSON.parse(result.stdout) as BuildJson;
    created.push(...json.references);
  }, 180_000);

  it("pushes IMAGE:git-SHORTSHA, IMAGE:58-develop and IMAGE:develop, all to one digest", async () => {
    const sha = await git(repo, "rev-parse", "HEAD");
    expect(json.references).toEqual([
      `${image}:git-${sha.slice(0, 7)}`,
      `${image}:58-develop`,
      `${image}:develop`,
    ]);
    expect(json.pushed).toBe(true);
    expect(json.revision).toBe(sha);
    expect(new Set(Object.values(json.digests)).size).toBe(1);
    expect(Object.keys(json.digests)).toEqual(json.references);
    expect(json.configLayerDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await registryTags("127.0.0.1:5000", `sysconfig-test-${run}/acme`)).sort()).toEqual(
      ["58-develop", "develop", `git-${sha.slice(0, 7)}`].sort(),
    );
    expect(stderr).toContain("build: Step 2/2 : ADD config.tar /");
    expect(stderr).toContain(`push: ${image}:develop`);
  });

  it("pulled back into an engine without it, carries the OCI labels and exactly the committed config", async () => {
    const reference = `${image}:develop`;
    await removeImages(docker, json.references);
    await expect(docker.getImage(reference).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await followStream(await docker.pull(reference), () => undefined);

    const inspect = await docker.getImage(reference).inspect();
    const commitTime = new Date(Number(await git(repo, "show", "-s", "--format=%ct")) * 1000).toISOString();
    expect(inspect.Config.Labels).toMatchObject({
      "org.opencontainers.image.revision": json.revision,
      "org.opencontainers.image.source": `file://${repo}`,
      "org.opencontainers.image.created": commitTime,
      "io.sysconfig.system": "acme",
      "io.sysconfig.branch": "develop",
    });
    expect(inspect.RootFS.Layers?.at(-1)).toBe(json.configLayerDigest);
    expect(inspect.Config.Entrypoint).toEqual(["sysconfig"]);
    expect(inspect.Config.Cmd).toEqual(["reconcile"]);

    const files = await readImageFiles(docker, reference, "/sysconfig/config");
    expect(files.get("config/sysconfig.yaml")).toBe(
      await readFile(path.join(repo, "sysconfig.yaml"), "utf8"),
    );
    expect(files.get("config/rendered/hello.yaml")).toBe(
      await readFile(path.join(repo, "rendered/hello.yaml"), "utf8"),
    );
    expect([...files.keys()].some((f) => f.includes(".git/"))).toBe(false);
    expect(JSON.parse(files.get("config/.sysconfig-build.json") ?? "{}")).toEqual({
      system: "acme",
      environment: "develop",
      branch: "develop",
      revision: json.revision,
      source: `file://${repo}`,
      created: commitTime,
      subject: await git(repo, "show", "-s", "--format=%s"),
    });
  });

  it("validates its own baked config inside the image, with networking off, as a non-root user", async () => {
    const result = await runInImage(docker, `${image}:develop`, ["validate"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("valid: acme, 3 services");
    expect(result.stdout).toContain("rendered/ current for develop");
    const id = await runInImage(docker, `${image}:develop`, ["-e", "console.log(process.getuid())"], {
      entrypoint: ["node"],
    });
    expect(id.stdout.trim()).toBe("10001");
  });
});

describe("config layer reproducibility", () => {
  const image = `sysconfig-test-${run}/layers`;

  it("gives the same config layer digest for two builds of one commit, even without the cache", async () => {
    const deps = { docker: () => docker, env: {}, progress: silentProgress };
    const first = await buildConfigImage({ repo, image, base, noCache: true }, deps);
    created.push(...first.references);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a later second: build time must not leak in
    const second = await buildConfigImage({ repo, image, base, noCache: true }, deps);
    expect(second.configLayerDigest).toBe(first.configLayerDigest);
    // Labels and time are stamped from the commit, so even the image ID is the same.
    expect(second.imageId).toBe(first.imageId);
    // The example's whole config repo (every environment's templates and rendered files): tens of KB.
    expect(second.configLayerSize).toBeLessThan(40_000);
  });

  it("rebuilds only the config layer after a one-service change", async () => {
    const deps = { docker: () => docker, env: {}, progress: silentProgress };
    const before = await buildConfigImage({ repo, image, base }, deps);
    await bumpInPlace(repo, "hello", "2-develop");
    const after = await buildConfigImage({ repo, image, base }, deps);
    created.push(...after.references);
    const [beforeLayers, afterLayers, baseLayers] = await Promise.all([
      imageLayers(docker, before.imageId ?? ""),
      imageLayers(docker, after.imageId ?? ""),
      imageLayers(docker, base),
    ]);
    expect(afterLayers.slice(0, -1)).toEqual(baseLayers);
    expect(beforeLayers.slice(0, -1)).toEqual(baseLayers);
    expect(afterLayers.at(-1)).not.toBe(beforeLayers.at(-1));
    const files = await readImageFiles(docker, after.imageId ?? "", "/sysconfig/config/rendered");
    expect(files.get("rendered/hello.yaml")).toContain("hello:2-develop");
  });
});

describe("registry authentication (127.0.0.1:5001, htpasswd)", () => {
  const repository = (name: string) => `sysconfig-test-${run}/${name}`;
  let password: string;
  beforeAll(async () => {
    password = (await readFile(PASSWORD_FILE, "utf8")).trim();
  });

  it("pushes with credentials from the Docker config file's auths", async () => {
    const configDir = path.join(dir, "docker-auth");
    await mkdir(configDir, { recursive: true });
    const auth = Buffer.from(`sysconfig:${password}`).toString("base64");
    await writeFile(
      path.join(configDir, "config.json"),
      JSON.stringify({ auths: { "127.0.0.1:5001": { auth } } }),
    );
    const image = `127.0.0.1:5001/${repository("authed")}`;
    const result = await build(["--image", image, "--push", "--output", "json"], {
      DOCKER_CONFIG: configDir,
    });
    expect(result.stderr).toContain("login: 127.0.0.1:5001 as sysconfig");
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as BuildJson;
    created.push(...json.references);
    expect(json.pushed).toBe(true);
    expect(
      await registryTags("127.0.0.1:5001", repository("authed"), { username: "sysconfig", password }),
    ).toContain("develop");
  });

  it("a wrong password is exit 1 with a clear message, and no tag is pushed", async () => {
    const wrong = path.join(dir, "wrong-password");
    await writeFile(wrong, "not-the-password\n");
    const image = `127.0.0.1:5001/${repository("wrong")}`;
    const result = await build(["--image", image, "--push"], {
      SYSCONFIG_REGISTRY: "127.0.0.1:5001",
      SYSCONFIG_REGISTRY_USERNAME: "sysconfig",
      SYSCONFIG_REGISTRY_PASSWORD_FILE: wrong,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("registry 127.0.0.1:5001 login as 'sysconfig'");
    expect(result.stderr).toContain("Nothing was pushed");
    expect(result.stderr).not.toContain("not-the-password");
    expect(
      await registryTags("127.0.0.1:5001", repository("wrong"), { username: "sysconfig", password }),
    ).toEqual([]);
  });

  it("without credentials, the registry's refusal is exit 1 and no tag lands", async () => {
    const image = `127.0.0.1:5001/${repository("anonymous")}`;
    const result = await build(["--image", image, "--push"]);
    created.push(`${image}:develop`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /push of 127\.0\.0\.1:5001\/\S+:git-[0-9a-f]{7} failed: no basic auth credentials/,
    );
    expect(result.stderr).toContain("SYSCONFIG_REGISTRY_USERNAME + SYSCONFIG_REGISTRY_PASSWORD_FILE");
    expect(result.stderr).toContain("Nothing was pushed");
    expect(
      await registryTags("127.0.0.1:5001", repository("anonymous"), { username: "sysconfig", password }),
    ).toEqual([]);
  });
});
