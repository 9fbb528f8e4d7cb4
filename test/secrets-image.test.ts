// The config image never holds a secret's plaintext: a value set with `sysconfig secret set` is built and
// pushed by `sysconfig build`, then every layer blob and the image config are fetched from the registry,
// decompressed and scanned: zero hits. The git history has none either; the ciphertext is in the image.
import { gunzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { dockerClient } from "../cli/images/docker-engine.js";
import { runCli } from "./helpers/cli.js";
import { git, initConfigRepo, removeRunImages, testBaseImage } from "./helpers/build-fixtures.js";
import { keygen, setRecipients } from "./helpers/secret-repos.js";
import { tempDir } from "./helpers/tmp.js";

jest.setTimeout(600_000);

const docker = dockerClient(process.env);
const run = randomBytes(4).toString("hex");
const REGISTRY = "127.0.0.1:5000";
const repository = `sysconfig-test-${run}/secrets`;
const PLAINTEXT = `plaintext-${randomBytes(12).toString("hex")}`;
let dir: string;
let cleanup: () => Promise<void>;
const created: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-secrets-image-"));
});
afterAll(async () => {
  await removeRunImages(docker, run, created);
  await cleanup();
});

async function registryJson<T>(url: string, accept: string): Promise<T> {
  const response = await fetch(`http://${REGISTRY}/v2/${repository}/${url}`, { headers: { accept } });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return (await response.json()) as T;
}
async function blob(digest: string): Promise<Buffer> {
  const response = await fetch(`http://${REGISTRY}/v2/${repository}/blobs/${digest}`);
  if (!response.ok) throw new Error(`GET blob ${digest}: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

describe("the config image and a secret", () => {
  it("holds the ciphertext and never the plaintext, in any layer, the image config or git history", async () => {
    const repo = path.join(dir, "repo");
    await initConfigRepo(repo);
    const key = await keygen(path.join(dir, "develop.key"));
    await setRecipients(repo, "develop", [key.recipient]);
    await git(repo, "commit", "-qam", "develop's recipient");
    const set = await runCli(["secret", "set", "hello", "API_TOKEN", "--repo", repo], { input: PLAINTEXT });
    expect(`${set.code} ${set.code === 0 ? "" : set.stderr}`).toBe("0 ");

    const base = await testBaseImage(docker);
    const image = `${REGISTRY}/${repository}`;
    const build = await runCli(
      [
        "build",
        "--repo",
        repo,
        "--base",
        base,
        "--image",
        image,
        "--build-num",
        "7",
        "--push",
        "--output",
        "json",
      ],
      { env: { DOCKER_CONFIG: path.join(dir, "docker-empty"), BUILD_NUMBER: "" } },
    );
    expect(`${build.code} ${build.code === 0 ? "" : build.stderr}`).toBe("0 ");
    created.push(...(JSON.parse(build.stdout) as { references: string[] }).references);
    expect(build.stdout + build.stderr).not.toContain(PLAINTEXT);

    const manifest = await registryJson<{ config: { digest: string }; layers: { digest: string }[] }>(
      "manifests/develop",
      "application/vnd.docker.distribution.manifest.v2+json",
    );
    expect(manifest.layers.length).toBeGreaterThan(0);
    let hits = 0;
    let ciphertextSeen = false;
    for (const layer of manifest.layers) {
      const content = gunzipSync(await blob(layer.digest));
      if (content.includes(PLAINTEXT)) hits += 1;
      if (content.includes("-----BEGIN AGE ENCRYPTED FILE-----")) ciphertextSeen = true;
    }
    if ((await blob(manifest.config.digest)).includes(PLAINTEXT)) hits += 1;
    expect(hits).toBe(0);
    expect(ciphertextSeen).toBe(true);

    const history = await git(repo, "log", "--all", "-p");
    expect(history).toContain("-----BEGIN AGE ENCRYPTED FILE-----");
    expect(history).not.toContain(PLAINTEXT);
  });
});
