// The reconciler image (`npm run image`): built from the project's Dockerfile on a base without a
// shell, production dependencies only, non-root, `sysconfig` as entrypoint.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { dockerClient } from "../cli/images/docker-engine.js";
import { LOCAL_NODE_IMAGE } from "../cli/images/reconciler-image.js";
import { reconcilerImageName, sysconfigVersion } from "../cli/images/reconciler-image-name.js";
import { removeImages, runInImage } from "./helpers/build-fixtures.js";
import { ROOT } from "./helpers/cli.js";

const docker = dockerClient(process.env);
const reference = `sysconfig-test-${randomBytes(4).toString("hex")}/reconciler:${sysconfigVersion()}`;
let stdout = "";

/** `node dist/cli/image.js`, what `npm run image` runs after `npm run build`. */
function runImageEntry(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist/cli/image.js")], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: out, stderr: err }));
  });
}

beforeAll(async () => {
  const result = await runImageEntry({ NODE_IMAGE: LOCAL_NODE_IMAGE, SYSCONFIG_RECONCILER_IMAGE: reference });
  if (result.code !== 0) throw new Error(`npm run image failed (${result.code}):\n${result.stderr}`);
  stdout = result.stdout;
}, 300_000);

afterAll(() => removeImages(docker, [reference]));

describe("reconciler image", () => {
  it("is named after this sysconfig version by default", () => {
    expect(reconcilerImageName()).toBe(`sysconfig/reconciler:${sysconfigVersion()}`);
    expect(stdout).toMatch(
      new RegExp(`built ${reference.replace(/[.]/g, "\\.")} .* FROM ${LOCAL_NODE_IMAGE}: `),
    );
  });

  it("runs sysconfig as a non-root user, reconcile by default, config at /sysconfig/config", async () => {
    const { Config } = await docker.getImage(reference).inspect();
    expect(Config.User).toBe("10001:10001");
    expect(Config.Entrypoint).toEqual(["sysconfig"]);
    expect(Config.Cmd).toEqual(["reconcile"]);
    expect(Config.Env).toContain("SYSCONFIG_REPO=/sysconfig/config");
    const version = await runInImage(docker, reference, ["--version"]);
    expect(version).toMatchObject({ code: 0, stdout: `${sysconfigVersion()}\n` });
  });

  it("holds production dependencies only", async () => {
    const script =
      "const fs=require('fs');const m='/opt/sysconfig/node_modules/';" +
      "console.log(JSON.stringify(['dockerode','@kubernetes/client-node','simple-git','typescript','jest','eslint','@swc/core','node','@types/node']" +
      ".filter(p=>fs.existsSync(m+p))))";
    const result = await runInImage(docker, reference, ["-e", script], { entrypoint: ["node"] });
    expect(JSON.parse(result.stdout)).toEqual(["dockerode", "@kubernetes/client-node", "simple-git"]);
  });

  it("names its user in /etc/passwd and carries nothing of the build stage", async () => {
    const script =
      "const fs=require('fs');console.log(JSON.stringify({user:require('os').userInfo().username," +
      "prepare:fs.existsSync('/.prepare.cjs'),config:fs.statSync('/sysconfig/config').isDirectory()}))";
    const result = await runInImage(docker, reference, ["-e", script], { entrypoint: ["node"] });
    expect(JSON.parse(result.stdout)).toEqual({ user: "sysconfig", prepare: false, config: true });
  });

  it("adds less than 80 MB to its base", async () => {
    const [image, base] = await Promise.all([
      docker.getImage(reference).inspect(),
      docker.getImage(LOCAL_NODE_IMAGE).inspect(),
    ]);
    expect(image.Size - base.Size).toBeLessThan(80_000_000);
    expect(stdout).toMatch(/MB over the base/);
  });

  it("says what is missing when run without a baked config", async () => {
    const result = await runInImage(docker, reference, ["validate"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("/sysconfig/config/sysconfig.yaml: cannot read the config");
  });
});
