// sysconfig build without an engine: the deterministic context, tags, credentials, and the
// refusals (dirty tree, stale rendered/) that happen before anything is built.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { extract } from "tar-stream";
import { configContext, configDockerfile, configLabels } from "../cli/images/config-context.js";
import { stampedConfig } from "../cli/images/stamp-image.js";
import { snapshotHead, publicSourceUrl } from "../cli/images/git-snapshot.js";
import { registryCredentials, registryOf } from "../reconciler/registry/credentials.js";
import { reconcilerImageName } from "../cli/images/reconciler-image-name.js";
import { branchTag, checkRepository, configImageTags, resolveBuildNumber } from "../cli/images/tags.js";
import { deterministicTar } from "../cli/images/tar.js";
import type { BuildInfo } from "../reconciler/desired/build-info.js";
import { runCli } from "./helpers/cli.js";
import { git, initConfigRepo } from "./helpers/build-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

interface Entry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  content: Buffer;
}

async function listTar(tar: Buffer): Promise<Entry[]> {
  const entries: Entry[] = [];
  const ex = extract();
  ex.on("entry", (h, body, next) => {
    const chunks: Buffer[] = [];
    body.on("data", (c) => chunks.push(c as Buffer));
    body.on("end", () => {
      entries.push({
        name: h.name,
        type: h.type ?? "file",
        mode: h.mode ?? 0,
        uid: h.uid ?? -1,
        gid: h.gid ?? -1,
        mtime: h.mtime?.getTime() ?? -1,
        content: Buffer.concat(chunks),
      });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ex.on("finish", resolve);
    ex.on("error", reject);
    ex.end(tar);
  });
  return entries;
}

const info: BuildInfo = {
  system: "acme",
  environment: "develop",
  branch: "develop",
  revision: "0123456789abcdef0123456789abcdef01234567",
  source: "https://git.example.com/acme/sysconfig.git",
  created: "2026-01-02T03:04:05.000Z",
};

describe("deterministic tar", () => {
  it("sorts entries, adds parent directories, and fixes mtime, owner and modes", async () => {
    const when = new Date("2026-01-02T03:04:05Z");
    const tar = await deterministicTar(
      [
        { path: "b/z.txt", content: "z" },
        { path: "a.sh", content: "#!/bin/sh\n", executable: true },
        { path: "b/a.txt", content: "a" },
      ],
      when,
    );
    const entries = await listTar(tar);
    expect(entries.map((e) => [e.name, e.type, e.mode.toString(8)])).toEqual([
      ["a.sh", "file", "755"],
      ["b/", "directory", "755"],
      ["b/a.txt", "file", "644"],
      ["b/z.txt", "file", "644"],
    ]);
    expect(new Set(entries.map((e) => `${e.uid}:${e.gid}:${e.mtime}`))).toEqual(
      new Set([`0:0:${when.getTime()}`]),
    );
  });

  it("gives byte-identical archives for the same entries in any order", async () => {
    const when = new Date(0);
    const one = await deterministicTar(
      [
        { path: "x/1", content: "1" },
        { path: "x/2", content: "2" },
      ],
      when,
    );
    const two = await deterministicTar(
      [
        { path: "x/2", content: "2" },
        { path: "x/1", content: "1" },
      ],
      when,
    );
    expect(one.equals(two)).toBe(true);
  });

  it("refuses paths that climb out of the context", async () => {
    await expect(deterministicTar([{ path: "../etc/passwd", content: "" }], new Date(0))).rejects.toThrow(
      "not a clean relative path",
    );
  });
});

describe("config context", () => {
  it("bakes the files and build info under /sysconfig/config, dated with the commit time", async () => {
    const context = await configContext("sysconfig/reconciler:1.2.3", info, [
      { path: "sysconfig.yaml", content: "name: acme\n" },
      { path: "rendered/web.yaml", content: "web\n" },
    ]);
    const outer = await listTar(context.tar);
    expect(outer.map((e) => e.name)).toEqual(["Dockerfile", "config.tar"]);
    const inner = await listTar(outer[1]?.content ?? Buffer.alloc(0));
    expect(inner.map((e) => e.name)).toEqual([
      "sysconfig/",
      "sysconfig/config/",
      "sysconfig/config/.sysconfig-build.json",
      "sysconfig/config/rendered/",
      "sysconfig/config/rendered/web.yaml",
      "sysconfig/config/sysconfig.yaml",
    ]);
    expect(new Set(inner.map((e) => e.mtime))).toEqual(new Set([Date.parse(info.created)]));
    const baked = inner.find((e) => e.name.endsWith(".sysconfig-build.json"));
    expect(JSON.parse(baked?.content.toString() ?? "{}")).toEqual(info);
    expect(context.files).toEqual([".sysconfig-build.json", "rendered/web.yaml", "sysconfig.yaml"]);
    expect(context.dockerfile).toContain("FROM sysconfig/reconciler:1.2.3\n");
  });

  it("generates a Dockerfile of one layer over the base", () => {
    expect(
      configDockerfile("base:1")
        .split("\n")
        .filter((l) => /^[A-Z]+ /.test(l)),
    ).toEqual(["FROM base:1", "ADD config.tar /"]);
  });

  it("stamps labels and the commit time into a config whose hash is the image ID", () => {
    const built = {
      Architecture: "amd64",
      Os: "linux",
      Config: { Labels: { "from.base": "1" }, Entrypoint: ["sysconfig"] },
      RootFS: { Type: "layers", Layers: ["sha256:a", "sha256:b"] },
    } as unknown as Parameters<typeof stampedConfig>[0];
    const options = { labels: configLabels(info), created: info.created, references: [] };
    const config = JSON.parse(stampedConfig(built, options)) as {
      created: string;
      config: { Labels: Record<string, string>; Entrypoint: string[] };
      rootfs: { diff_ids: string[] };
    };
    expect(config.created).toBe(info.created);
    expect(config.config.Labels).toMatchObject({
      "from.base": "1",
      "org.opencontainers.image.revision": info.revision,
      "org.opencontainers.image.created": info.created,
      "io.sysconfig.system": "acme",
      "io.sysconfig.branch": "develop",
    });
    expect(config.config.Entrypoint).toEqual(["sysconfig"]);
    expect(config.rootfs.diff_ids).toEqual(["sha256:a", "sha256:b"]);
    expect(stampedConfig(built, options)).toBe(stampedConfig(built, options));
  });

  it("defaults the base to this version's reconciler image", () => {
    expect(reconcilerImageName("9.8.7")).toBe("sysconfig/reconciler:9.8.7");
    expect(reconcilerImageName()).toMatch(/^sysconfig\/reconciler:\d+\.\d+\.\d+/);
  });
});

describe("tags and build number", () => {
  it("tags git-SHORTSHA, BUILDNUM-BRANCH and BRANCH, the moving tag last", () => {
    expect(configImageTags("develop", info.revision, "58")).toEqual(["git-0123456", "58-develop", "develop"]);
    expect(configImageTags("feature/x", info.revision, undefined)).toEqual(["git-0123456", "feature-x"]);
    expect(branchTag("release/1.2")).toBe("release-1.2");
  });

  it("takes the build number from --build-num, else CI's variables in order", () => {
    expect(resolveBuildNumber("7", { BUILD_NUMBER: "9" })).toEqual({ value: "7", from: "--build-num" });
    expect(resolveBuildNumber(undefined, { GITHUB_RUN_NUMBER: "12", CIRCLE_BUILD_NUM: "3" }).value).toBe(
      "12",
    );
    expect(resolveBuildNumber(undefined, { CI_PIPELINE_IID: "44" })).toEqual({
      value: "44",
      from: "CI_PIPELINE_IID",
    });
    expect(resolveBuildNumber(undefined, {}).value).toBeUndefined();
  });

  it("refuses a build number that is not digits (exit 3)", () => {
    expect(() => resolveBuildNumber("58-develop", {})).toThrow(expect.objectContaining({ exitCode: 3 }));
  });

  it("validates repositories and finds their registry", () => {
    expect(checkRepository("127.0.0.1:5000/acme/sysconfig", "--image")).toBe("127.0.0.1:5000/acme/sysconfig");
    expect(() => checkRepository("Acme/Sysconfig", "--image")).toThrow(
      expect.objectContaining({ exitCode: 3 }),
    );
    expect(() => checkRepository("acme/sysconfig:latest", "--image")).toThrow(
      "not a valid Docker repository",
    );
    expect(registryOf("127.0.0.1:5001/a/b")).toBe("127.0.0.1:5001");
    expect(registryOf("acme/sysconfig")).toBe("docker.io");
  });
});

describe("registry credentials", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir("sysconfig-build-auth-")));
  afterAll(() => cleanup());

  it("reads base64 user:password from the Docker config's auths, by any spelling of the host", async () => {
    await writeFile(
      path.join(dir, "config.json"),
      JSON.stringify({
        auths: { "https://127.0.0.1:5001": { auth: Buffer.from("ci:s3:cret").toString("base64") } },
      }),
    );
    const { credentials } = await registryCredentials("127.0.0.1:5001", { DOCKER_CONFIG: dir });
    expect(credentials).toMatchObject({ username: "ci", password: "s3:cret" });
    expect((await registryCredentials("127.0.0.1:5000", { DOCKER_CONFIG: dir })).credentials).toBeUndefined();
  });

  it("prefers SYSCONFIG_REGISTRY_USERNAME with the password from a file", async () => {
    const file = path.join(dir, "password");
    await writeFile(file, "from-file\n");
    const { credentials } = await registryCredentials("127.0.0.1:5001", {
      DOCKER_CONFIG: dir,
      SYSCONFIG_REGISTRY: "127.0.0.1:5001",
      SYSCONFIG_REGISTRY_USERNAME: "bot",
      SYSCONFIG_REGISTRY_PASSWORD_FILE: file,
    });
    expect(credentials).toMatchObject({ username: "bot", password: "from-file" });
  });

  it("refuses a username without a password file (exit 3)", async () => {
    await expect(registryCredentials("r", { SYSCONFIG_REGISTRY_USERNAME: "bot" })).rejects.toMatchObject({
      exitCode: 3,
    });
  });

  it("keeps tokens out of the source label", () => {
    expect(publicSourceUrl("https://user:tok@git.example.com/acme/sc.git")).toBe(
      "https://git.example.com/acme/sc.git",
    );
    expect(publicSourceUrl("git@git.example.com:acme/sc.git")).toBe("git@git.example.com:acme/sc.git");
  });
});

describe("sysconfig build before the engine", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let repo: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("sysconfig-build-cli-"));
    repo = path.join(dir, "repo");
    await initConfigRepo(repo);
  });
  afterAll(() => cleanup());

  it("reads HEAD from git objects, not the working tree", async () => {
    const head = await snapshotHead(repo);
    await writeFile(path.join(repo, "sysconfig.yaml"), "edited but not committed\n");
    try {
      const again = await snapshotHead(repo);
      const yaml = again.files.find((f) => f.path === "sysconfig.yaml");
      expect(yaml && "content" in yaml ? yaml.content.toString() : "").toContain("name: acme");
      expect(again.revision).toBe(head.revision);
      expect(head.branch).toBe("develop");
      expect(head.subject).toBe(await git(repo, "show", "-s", "--format=%s")); // baked for serve's page
      expect(head.files.map((f) => f.path)).toEqual(expect.arrayContaining(["rendered/hello.yaml"]));
    } finally {
      await git(repo, "checkout", "--", "sysconfig.yaml");
    }
  });

  it("--dry-run shows the tags, labels and Dockerfile and builds nothing", async () => {
    const result = await runCli(
      ["build", "--dry-run", "--repo", repo, "--build-num", "58", "--output", "json"],
      {
        env: { DOCKER_HOST: "unix:///nonexistent.sock" },
      },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { references: string[]; dryRun: boolean; revision: string };
    const sha = (await git(repo, "rev-parse", "HEAD")).slice(0, 7);
    expect(json.references).toEqual([
      `127.0.0.1:5000/acme/sysconfig:git-${sha}`,
      "127.0.0.1:5000/acme/sysconfig:58-develop",
      "127.0.0.1:5000/acme/sysconfig:develop",
    ]);
    expect(json.dryRun).toBe(true);
  });

  it("notes a missing build number and leaves out the <n>-<branch> tag", async () => {
    const result = await runCli(["build", "--dry-run", "--repo", repo], {
      env: { BUILD_NUMBER: "", GITHUB_RUN_NUMBER: "", CI_PIPELINE_IID: "", CIRCLE_BUILD_NUM: "" },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("no build number");
    expect(result.stdout).not.toMatch(/:\d+-develop/);
  });

  it("refuses a dirty tree with exit 3 and names the files", async () => {
    await writeFile(path.join(repo, "stray.txt"), "x\n");
    try {
      const result = await runCli(["build", "--repo", repo]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("uncommitted changes");
      expect(result.stderr).toContain("stray.txt");
    } finally {
      await git(repo, "clean", "-fq");
    }
  });

  it("refuses a stale rendered/ with exit 3 and says how to fix it", async () => {
    await mkdir(path.join(repo, "rendered"), { recursive: true });
    await writeFile(path.join(repo, "rendered/hello.yaml"), "tampered: true\n");
    await git(repo, "commit", "-qam", "tamper with rendered output");
    try {
      const result = await runCli(["build", "--repo", repo]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("rendered/ is stale for develop: rendered/hello.yaml");
      expect(result.stderr).toContain("sysconfig render");
    } finally {
      await git(repo, "reset", "-q", "--hard", "HEAD~1");
    }
  });

  it("refuses a branch that is not an environment (exit 3)", async () => {
    await git(repo, "checkout", "-qb", "feature-x");
    try {
      const result = await runCli(["build", "--dry-run", "--repo", repo]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("'feature-x' is not an environment");
    } finally {
      await git(repo, "checkout", "-q", "develop");
    }
  });
});
