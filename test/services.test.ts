// The real components the suite relies on are up (started by scripts/services.sh in global setup).
import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import Docker from "dockerode";

const STATE = process.env.SYSCONFIG_SERVICES_DIR ?? "/var/lib/sysconfig-services";

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("test services", () => {
  it("has a Docker engine answering on the default socket", async () => {
    const docker = new Docker();
    const pong: unknown = await docker.ping();
    expect(String(pong)).toBe("OK");
  });

  it("has the local base images", async () => {
    const docker = new Docker();
    for (const name of ["sysconfig-base/busybox:latest", "sysconfig-base/node:24"]) {
      const info = await docker.getImage(name).inspect();
      expect(info.Config.Labels?.["io.sysconfig.base-hash"]).toBeTruthy();
    }
  });

  it("serves an open registry on 5000 and an htpasswd one on 5001", async () => {
    expect((await fetch("http://127.0.0.1:5000/v2/")).status).toBe(200);
    expect((await fetch("http://127.0.0.1:5001/v2/")).status).toBe(401);
    const password = readFileSync(`${STATE}/registry/password`, "utf8").trim();
    const auth = Buffer.from(`sysconfig:${password}`).toString("base64");
    expect(
      (await fetch("http://127.0.0.1:5001/v2/", { headers: { authorization: `Basic ${auth}` } })).status,
    ).toBe(200);
    const wrong = Buffer.from("sysconfig:wrong").toString("base64");
    expect(
      (await fetch("http://127.0.0.1:5001/v2/", { headers: { authorization: `Basic ${wrong}` } })).status,
    ).toBe(401);
  });

  it("runs sshd as bastion and fleet host on loopback", async () => {
    expect(await portOpen(2222)).toBe(true);
    expect(await portOpen(2223)).toBe(true);
    expect(readFileSync(`${STATE}/ssh/known_hosts`, "utf8")).toMatch(/^\[127\.0\.0\.1\]:2222 ssh-ed25519 /m);
  });

  it("is idempotent: a second run reuses everything", () => {
    const log = execFileSync("bash", ["-c", "bash scripts/services.sh 2>&1"], { encoding: "utf8" });
    expect(log).toMatch(/docker engine: already answering/);
    expect(log).toMatch(/registry 127\.0\.0\.1:5001: already answering/);
    expect(log).toMatch(/image sysconfig-base\/node:24: present/);
  });
});
