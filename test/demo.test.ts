// The README's demo runs in CI: scripts/demo.sh end to end against the real engine and registry
// (jest's global setup has started the services; `npm test` has built dist/). Besides the demo's own
// output, the test checks its claims itself: the secret in hello's container and nowhere in the config
// repo or the config image, and serve's page showing the system, left running until `demo.sh clean`.
import { spawn } from "node:child_process";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ROOT, runCommand } from "./helpers/cli.js";

const SERVE = "sysconfig-demo-serve";
const REGISTRY = "127.0.0.1:5000";
/** A container of acme's master environment (as the Kubernetes suite's config image runs): not the demo's. */
const NEIGHBOUR = "sysconfig-demo-test-acme-master";

function runDemo(args: string[] = []): Promise<{ code: number; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(ROOT, "scripts/demo.sh"), ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code: code ?? -1, output, seconds: (Date.now() - started) / 1000 }),
    );
  });
}

async function run(command: string, ...args: string[]): Promise<string> {
  const result = await runCommand(command, args);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(" ")} failed (${result.code}): ${result.out}`);
  return result.out;
}

let demo: { code: number; output: string; seconds: number };
const steps = (): string[] => demo.output.split(/^==> /m);
const step = (n: number): string => steps().find((s) => s.startsWith(`${n}.`)) ?? "";

beforeAll(async () => {
  // A serve container a previous demo left: the demo replaces it (docker run --name would otherwise fail).
  await runCommand("docker", ["rm", "-f", SERVE]);
  await run("docker", "run", "-d", "--name", SERVE, "sysconfig-base/busybox:latest", "sleep", "600");
  await runCommand("docker", ["rm", "-f", NEIGHBOUR]);
  await run(
    "docker",
    ...["run", "-d", "--name", NEIGHBOUR, "--label", "io.sysconfig.system=acme"],
    ...["--label", "io.sysconfig.environment=master", "sysconfig-base/busybox:latest", "sleep", "900"],
  );
  demo = await runDemo();
  process.stdout.write(`demo finished in ${demo.seconds.toFixed(0)} s\n`);
}, 900_000);

afterAll(async () => {
  const clean = await runDemo(["clean"]);
  expect(clean.code).toBe(0);
  // clean stops serve too: nothing of the demo keeps running.
  expect((await run("docker", "ps", "-aq", "--filter", `name=^${SERVE}$`)).trim()).toBe("");
  // and only the demo's: acme's containers of another environment were left alone by the start and by clean
  const neighbour = (await run("docker", "ps", "-q", "--filter", `name=^${NEIGHBOUR}$`)).trim();
  await runCommand("docker", ["rm", "-f", NEIGHBOUR]);
  expect(neighbour).not.toBe("");
});

/** On failure, the demo's whole output: it says what went wrong. */
function withOutput(check: () => void | Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await check();
    } catch (error) {
      process.stdout.write(`demo output:\n${demo.output}\n`);
      throw error;
    }
  };
}

describe("npm run demo", () => {
  it(
    "runs the whole loop: both builds answer over HTTP, the second run updates hello, a third changes nothing",
    withOutput(() => {
      expect(demo.output).not.toContain("demo: FAILED");
      expect(demo.code).toBe(0);

      const firstRun = step(5);
      expect(firstRun).toContain("+ create docker:container/acme-hello");
      expect(firstRun).toContain("+ create docker:container/acme-worker-3");
      expect(firstRun).toMatch(/Result: 5 healthy/);

      expect(step(6)).toMatch(/\$ curl -s http:\/\/127\.0\.0\.1:8080\/\n\s+\| hello from acme \(build 2\)/);

      const secondRun = step(8);
      expect(secondRun).toContain("~ update docker:container/acme-hello");
      expect(secondRun).toContain("note: stop-first: host port 8080/tcp");
      expect(secondRun).toContain("+image: 127.0.0.1:5000/acme/hello:3-develop");
      expect(secondRun).toMatch(/Plan: 0 to create, 1 to update, 0 to delete, 4 unchanged/);
      expect(secondRun).toMatch(/Result: 1 healthy/);

      const secondAnswer = step(9);
      expect(secondAnswer).toMatch(/\| hello from acme \(build 3\)/);
      expect(secondAnswer.match(/acme-hello /g)).toHaveLength(1);

      expect(step(10)).toContain("No changes: the target matches the desired state.");
      expect(demo.output).toContain("bash scripts/demo.sh clean");
    }),
  );

  describe("the secret set in step 3", () => {
    const token = (): string =>
      /The token is new on every demo run: (demo-token-[0-9a-f]{16})/.exec(step(3))?.[1] ?? "";
    const work = (): string => /Work directory: (\S+)/.exec(demo.output)?.[1] ?? "";

    it(
      "goes in on stdin and is committed as ciphertext, never printed by secret set",
      withOutput(() => {
        expect(token()).not.toBe("");
        const set = step(3).slice(step(3).indexOf("sysconfig secret set"));
        expect(set).toMatch(/rendered\/hello\.yaml \+ +"API_TOKEN": "<secret age:[0-9a-f]{16}>"/);
        expect(set).toMatch(/secret hello\/API_TOKEN on develop: encrypted to 1 recipient\(s\)/);
        expect(set.split(token()).length - 1).toBe(0);
      }),
    );

    it(
      "is what hello's container reads, and the demo says so",
      withOutput(async () => {
        expect((await run("docker", "exec", "acme-hello", "sh", "-c", 'echo "$API_TOKEN"')).trim()).toBe(
          token(),
        );
        expect(step(7)).toContain(`$ docker exec acme-hello sh -c 'echo "$API_TOKEN"'\n    | ${token()}\n`);
      }),
    );

    it(
      "is in no file of any commit of the config repo, nor in any commit message",
      withOutput(async () => {
        const remote = path.join(work(), "config.git");
        const revisions = (await run("git", "-C", remote, "rev-list", "--all")).trim().split("\n");
        expect(revisions.length).toBeGreaterThan(5);
        const grep = await runCommand("git", ["-C", remote, "grep", "-F", "-l", token(), ...revisions]);
        expect(grep).toEqual({ code: 1, out: "" }); // git grep: 1 = no match
        const history = await run("git", "-C", remote, "log", "--all", "-p", "--format=%B");
        expect(history).toContain("-----BEGIN AGE ENCRYPTED FILE-----");
        expect(history).not.toContain(token());
        expect(step(7)).toMatch(/git grep: every file of all \d+ commits of the config repo +0 hits/);
        expect(step(7)).toMatch(/git log: every commit message +0 hits/);
      }),
    );

    it(
      "is not in the config image's history or config, nor in any layer pushed to the registry",
      withOutput(async () => {
        const image = `${REGISTRY}/acme/sysconfig:develop`;
        expect(await run("docker", "history", "--no-trunc", image)).not.toContain(token());
        expect(await run("docker", "image", "inspect", image)).not.toContain(token());

        const base = `http://${REGISTRY}/v2/acme/sysconfig`;
        const response = await fetch(`${base}/manifests/develop`, {
          headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
        });
        expect(response.status).toBe(200);
        const manifest = (await response.json()) as {
          config: { digest: string };
          layers: { digest: string }[];
        };
        const blob = async (digest: string) =>
          Buffer.from(await (await fetch(`${base}/blobs/${digest}`)).arrayBuffer());
        const withToken: string[] = [];
        let withCiphertext = 0;
        for (const layer of manifest.layers) {
          const content = gunzipSync(await blob(layer.digest));
          if (content.includes(token())) withToken.push(layer.digest);
          if (content.includes("-----BEGIN AGE ENCRYPTED FILE-----")) withCiphertext += 1;
        }
        if ((await blob(manifest.config.digest)).includes(token())) withToken.push(manifest.config.digest);
        expect(withToken).toEqual([]);
        expect(withCiphertext).toBeGreaterThan(0);
        expect(step(7)).toMatch(/docker history and docker image inspect of the config image +0 hits/);
        expect(step(7)).toMatch(
          new RegExp(
            `every blob of the config image in the registry, unpacked \\(${manifest.layers.length + 1}\\) +0 hits`,
          ),
        );
      }),
    );
  });

  describe("serve, started last", () => {
    const url = (): string => /^ +(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(step(11))?.[1] ?? "";

    it(
      "prints its page's URL and how to stop it, and answers /healthz",
      withOutput(async () => {
        expect(url()).not.toBe("");
        expect(step(11)).toContain(`Stop it with: docker rm -f ${SERVE}`);
        expect((await fetch(new URL("/healthz", url()))).status).toBe(200);
      }),
    );

    it(
      "shows the demo's system live: acme on develop, its services' objects, healthy, at the last build's commit",
      withOutput(async () => {
        const response = await fetch(url());
        expect(response.status).toBe(200);
        const page = await response.text();
        expect(page).toMatch(/<span class="system">acme<\/span>\s*<span class="env">develop<\/span>/);
        expect(page).toContain('<span class="badge healthy"');
        for (const container of ["acme-hello", "acme-worker-1", "acme-worker-3", "acme-legacy-api"]) {
          expect(page).toContain(`>${container}<`);
        }
        const work = /Work directory: (\S+)/.exec(demo.output)?.[1] ?? "";
        const head = await run(
          "git",
          "-C",
          path.join(work, "config.git"),
          "log",
          "-1",
          "--format=%H%x00%s",
          "develop",
        );
        const [revision = "", subject = ""] = head.trim().split("\0");
        expect(page).toContain(`title="${revision}"`);
        // the page escapes every string from git: the subject's quotes come as entities
        const escaped = subject.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
        expect(page).toContain(
          `<span class="subject">${escaped.replace(/"/g, "&quot;").replace(/'/g, "&#39;")}</span>`,
        );
      }),
    );
  });
});
