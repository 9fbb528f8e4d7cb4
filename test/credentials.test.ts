// Registry credentials from the environment are scoped to SYSCONFIG_REGISTRY: a real engine pulling
// from another registry (a loopback server that asks for Basic auth and records what it is offered)
// is never offered them, and the htpasswd registry on 127.0.0.1:5001 still gets them.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { registryAuthFor, registryCredentials } from "../reconciler/registry/credentials.js";
import { silentReporter } from "../reconciler/report/reporter.js";
import { ensureImage } from "../reconciler/targets/docker/image.js";
import { buildWebImage, docker, uniqueSystem } from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

const PASSWORD_FILE = "/var/lib/sysconfig-services/registry/password";

let dir: string;
let cleanup: () => Promise<void>;
let registry: http.Server;
let registryHost: string;
/** Every Authorization header the recording registry received. */
const offered: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-credentials-"));
  registry = http.createServer((req, res) => {
    if (req.headers.authorization !== undefined) offered.push(req.headers.authorization);
    res.writeHead(401, {
      "Docker-Distribution-API-Version": "registry/2.0",
      "WWW-Authenticate": 'Basic realm="recording"',
      "Content-Type": "application/json",
    });
    res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
  });
  await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
  registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => registry.close(resolve));
  await cleanup();
});

describe("registry credentials from the environment", () => {
  const scoped = (registryName: string) => ({
    DOCKER_CONFIG: path.join(dir, "no-docker-config"),
    SYSCONFIG_REGISTRY: registryName,
    SYSCONFIG_REGISTRY_USERNAME: "sysconfig",
    SYSCONFIG_REGISTRY_PASSWORD_FILE: PASSWORD_FILE,
  });

  it("are used only for the registry SYSCONFIG_REGISTRY names", async () => {
    const env = scoped("127.0.0.1:5001");
    expect((await registryCredentials("127.0.0.1:5001", env)).credentials?.username).toBe("sysconfig");
    const other = await registryCredentials("127.0.0.1:5000", env);
    expect(other.credentials).toBeUndefined();
    expect(other.note).toContain("SYSCONFIG_REGISTRY=127.0.0.1:5001, not 127.0.0.1:5000");
    expect(await registryAuthFor("docker.io/library/busybox:1", env)).toBeUndefined();
    expect(await registryAuthFor("127.0.0.1:5001/acme/web:1-x", env)).toMatchObject({
      username: "sysconfig",
      serveraddress: "127.0.0.1:5001",
    });
  });

  it("accepts SYSCONFIG_REGISTRY written as a URL", async () => {
    const env = scoped("https://127.0.0.1:5001/v2/");
    expect((await registryCredentials("127.0.0.1:5001", env)).credentials?.username).toBe("sysconfig");
  });

  it("refuses a username and password file without SYSCONFIG_REGISTRY (exit 3), naming what is missing", async () => {
    const env = {
      SYSCONFIG_REGISTRY_USERNAME: "sysconfig",
      SYSCONFIG_REGISTRY_PASSWORD_FILE: PASSWORD_FILE,
    };
    const refusal = registryCredentials("127.0.0.1:5001", env);
    await expect(refusal).rejects.toMatchObject({ exitCode: 3 });
    await expect(registryCredentials("127.0.0.1:5001", env)).rejects.toThrow(
      /missing: SYSCONFIG_REGISTRY \(host\[:port\].*only registry the username and password are sent to/,
    );
  });

  it("refuses SYSCONFIG_REGISTRY alone, and one that is not a host (exit 3)", async () => {
    await expect(
      registryCredentials("127.0.0.1:5001", { SYSCONFIG_REGISTRY: "127.0.0.1:5001" }),
    ).rejects.toMatchObject({ exitCode: 3 });
    await expect(registryCredentials("x", scoped("bad host name"))).rejects.toMatchObject({ exitCode: 3 });
  });

  it("a real engine pulling from another registry is never offered them", async () => {
    const image = `${registryHost}/acme/web:1-develop`;
    const password = (await readFile(PASSWORD_FILE, "utf8")).trim();
    const pull = ensureImage(docker, image, "docker:container/web", scoped("127.0.0.1:5001"), silentReporter);
    await expect(pull).rejects.toThrow(/no registry credentials were found for 127\.0\.0\.1:\d+/);
    await expect(pull).rejects.toThrow(
      /SYSCONFIG_REGISTRY_USERNAME is for SYSCONFIG_REGISTRY=127\.0\.0\.1:5001 only/,
    );
    const decoded = offered.map((h) => Buffer.from(h.replace(/^Basic /, ""), "base64").toString("utf8"));
    expect(decoded.some((d) => d.includes(password) || d.startsWith("sysconfig:"))).toBe(false);
  });

  it("the recording registry does see credentials meant for it (the check above can fail)", async () => {
    const file = path.join(dir, "recording-password");
    await writeFile(file, "recording-pw\n");
    const image = `${registryHost}/acme/web:1-develop`;
    const env = { ...scoped(registryHost), SYSCONFIG_REGISTRY_PASSWORD_FILE: file };
    await expect(ensureImage(docker, image, "docker:container/web", env, silentReporter)).rejects.toThrow(
      /pull .* failed/,
    );
    const decoded = offered.map((h) => Buffer.from(h.replace(/^Basic /, ""), "base64").toString("utf8"));
    expect(decoded).toContain("sysconfig:recording-pw");
  });

  it("the htpasswd registry on 127.0.0.1:5001 still gets them: a pull succeeds", async () => {
    const system = uniqueSystem("cred");
    const image = `127.0.0.1:5001/${system}/web:1-main`;
    const password = (await readFile(PASSWORD_FILE, "utf8")).trim();
    await buildWebImage(image, "scoped\n");
    const stream = await docker.getImage(image).push({
      authconfig: { username: "sysconfig", password, serveraddress: "127.0.0.1:5001" },
    });
    await new Promise((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: unknown) =>
        err ? reject(err) : resolve(out),
      );
    });
    await docker.getImage(image).remove();
    try {
      await ensureImage(docker, image, "docker:container/web", scoped("127.0.0.1:5001"), silentReporter);
      expect((await docker.getImage(image).inspect()).RepoTags).toContain(image);
    } finally {
      await docker
        .getImage(image)
        .remove()
        .catch(() => undefined);
    }
  });
});
