// The README's demo runs in CI: scripts/demo.sh end to end against the real engine and registry
// (jest's global setup has started the services; `npm test` has built dist/).
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, expect, it } from "@jest/globals";
import { ROOT } from "./helpers/cli.js";

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

afterAll(async () => {
  await runDemo(["clean"]);
});

it("runs the whole loop: both builds answer over HTTP, the second run updates hello, a third changes nothing", async () => {
  const { code, output, seconds } = await runDemo();
  process.stdout.write(`demo finished in ${seconds.toFixed(0)} s\n`);
  try {
    checkDemoOutput(code, output);
  } catch (error) {
    process.stdout.write(`demo output:\n${output}\n`);
    throw error;
  }
});

function checkDemoOutput(code: number, output: string): void {
  expect(output).not.toContain("demo: FAILED");
  expect(code).toBe(0);

  const steps = output.split(/^==> /m);
  const firstRun = steps.find((s) => s.startsWith("5.")) ?? "";
  expect(firstRun).toContain("+ create docker:container/acme-hello");
  expect(firstRun).toContain("+ create docker:container/acme-worker-3");
  expect(firstRun).toMatch(/Result: 5 healthy/);

  const firstAnswer = steps.find((s) => s.startsWith("6.")) ?? "";
  expect(firstAnswer).toMatch(/\$ curl -s http:\/\/127\.0\.0\.1:8080\/\n\s+\| hello from acme \(build 2\)/);

  const secondRun = steps.find((s) => s.startsWith("7.")) ?? "";
  expect(secondRun).toContain("~ update docker:container/acme-hello");
  expect(secondRun).toContain("note: stop-first: host port 8080/tcp");
  expect(secondRun).toContain("+image: 127.0.0.1:5000/acme/hello:3-develop");
  expect(secondRun).toMatch(/Plan: 0 to create, 1 to update, 0 to delete, 4 unchanged/);
  expect(secondRun).toMatch(/Result: 1 healthy/);

  const secondAnswer = steps.find((s) => s.startsWith("8.")) ?? "";
  expect(secondAnswer).toMatch(/\| hello from acme \(build 3\)/);
  expect(secondAnswer.match(/acme-hello /g)).toHaveLength(1);

  const thirdRun = steps.find((s) => s.startsWith("9.")) ?? "";
  expect(thirdRun).toContain("No changes: the target matches the desired state.");
  expect(output).toContain("bash scripts/demo.sh clean");
}
