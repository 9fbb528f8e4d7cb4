// --output json prints exactly one JSON document on stdout on every path, errors included: each error path
// below (lock held, target unreachable, unknown environment, bad repo, unknown flag, invalid value, a
// failed bump or build) parses with JSON.parse and carries the exit code, the error's class and its message.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import path from "node:path";
import { silentReporter } from "../reconciler/report/reporter.js";
import { createFleetTarget } from "../reconciler/targets/fleet/target.js";
import { writeFleetRepo } from "./fleet-server/config-repo.js";
import { startFleetServer, type FakeFleetServer } from "./fleet-server/fleet-server.js";
import { runCli } from "./helpers/cli.js";
import { initExample } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

interface ErrorDocument {
  error: { exitCode: number; class: string; message: string; rule?: string };
}

let root: string;
let cleanup: () => Promise<void>;
let fleet: FakeFleetServer;
let repo: string;
let example: string;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-json-output-"));
  fleet = await startFleetServer({ transitionMs: 0 });
  repo = path.join(root, "fleet");
  await writeFleetRepo(repo, { name: "jsonout", endpoint: fleet.endpoint, services: { web: {} } });
  example = await initExample(root);
});
afterAll(async () => {
  await fleet.close();
  await cleanup();
});

/** Runs the CLI and parses its whole stdout as one JSON document. */
async function jsonOf(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(args, { env });
  let document: unknown;
  expect(() => {
    document = JSON.parse(result.stdout) as unknown;
  }).not.toThrow();
  return { ...result, document: document as ErrorDocument };
}

describe("--output json on error paths", () => {
  const plan = (...args: string[]) => ["plan", "--repo", repo, "--environment", "staging", ...args];

  const cases: [string, () => string[], number][] = [
    [
      "an unknown environment",
      () => ["plan", "--repo", repo, "--environment", "nope", "--output", "json"],
      3,
    ],
    [
      "a repo that does not exist",
      () => ["plan", "--repo", path.join(root, "missing"), "--output", "json"],
      3,
    ],
    ["an unknown flag", () => plan("--output", "json", "--no-such-flag"), 3],
    ["an invalid flag value", () => plan("--output=json", "--target", "nomad"), 3],
    ["an invalid number", () => plan("--output", "json", "--max-delete", "-1"), 3],
    ["an unreachable target", () => plan("--output", "json", "--endpoint", "http://127.0.0.1:1"), 1],
    [
      "a bump of an unknown service",
      () => ["bump", "nope", "2-develop", "--repo", example, "--output", "json"],
      3,
    ],
    ["a bump with an invalid tag", () => ["bump", "hello", "x y", "--repo", example, "--output", "json"], 3],
    [
      "a build of a missing repo",
      () => ["build", "--repo", path.join(root, "missing"), "--output", "json"],
      3,
    ],
  ];
  it.each(cases)(
    "%s: one error document with the exit code, the class and the message",
    async (_case, args, code) => {
      const result = await jsonOf(args());
      expect(result.code).toBe(code);
      expect(result.document.error.exitCode).toBe(code);
      expect(result.document.error.class).toBe(code === 1 ? "RuntimeFailureError" : "InvalidInputError");
      expect(result.document.error.message.length).toBeGreaterThan(10);
      // The readable message still goes to stderr.
      expect(result.stderr).not.toBe("");
    },
  );

  it("names the command and the flag in an unknown-flag error", async () => {
    const result = await jsonOf(["reconcile", "--repo", repo, "--output", "json", "--bogus"]);
    expect(result.document.error.message).toBe("sysconfig reconcile: unknown option '--bogus'");
  });

  it("takes SYSCONFIG_OUTPUT=json like the flag, for the commands that have --output", async () => {
    const result = await jsonOf(["plan", "--repo", repo, "--environment", "nope"], {
      SYSCONFIG_OUTPUT: "json",
    });
    expect(result.code).toBe(3);
    expect(result.document.error.class).toBe("InvalidInputError");
    // validate has no --output: the variable does not turn its text into JSON.
    const validate = await runCli(["validate", "--repo", path.join(root, "missing")], {
      env: { SYSCONFIG_OUTPUT: "json" },
    });
    expect(validate.code).toBe(3);
    expect(validate.stdout).toBe("");
  });

  it("a held lock: exit 4 with the rule, as one document", async () => {
    const other = createFleetTarget(
      { kind: "fleet", endpoint: fleet.endpoint },
      { reporter: silentReporter, env: {}, environment: "staging" },
    );
    const held = await other.acquireLock("jsonout", "another reconciler", false);
    try {
      const result = await jsonOf([
        "reconcile",
        "--repo",
        repo,
        "--environment",
        "staging",
        "--output",
        "json",
      ]);
      expect(result.code).toBe(4);
      expect(result.document.error).toMatchObject({ exitCode: 4, class: "SafetyRefusalError" });
      expect(result.document.error.message).toContain("another reconciler");
      expect(fleet.units.has("web.service")).toBe(false);
    } finally {
      await held.release();
      await other.close();
    }
  });

  it("a refused plan stays one document: the plan, its refusal and the error", async () => {
    const before = await runCli(
      [...plan(), "--output", "json"]
        .slice(0, 0)
        .concat(["reconcile", "--repo", repo, "--environment", "staging", "--timeout", "20"]),
    );
    expect(before.code).toBe(0);
    await writeFleetRepo(repo, { name: "jsonout", endpoint: fleet.endpoint, services: {} });
    const result = await jsonOf([
      "reconcile",
      "--repo",
      repo,
      "--environment",
      "staging",
      "--output",
      "json",
    ]);
    expect(result.code).toBe(4);
    const doc = result.document as ErrorDocument & { refused: { rule: string }; summary: { delete: number } };
    expect(doc.refused.rule).toBe(doc.error.rule);
    expect(doc.summary.delete).toBe(1);
    expect(doc.error.exitCode).toBe(4);
  });

  it("success and changes pending print the document alone", async () => {
    await writeFleetRepo(repo, { name: "jsonout", endpoint: fleet.endpoint, services: { web: {}, api: {} } });
    const pending = await jsonOf([...plan("--output", "json", "--exit-code")]);
    expect(pending.code).toBe(2);
    expect(pending.document).not.toHaveProperty("error");
    expect((pending.document as unknown as { summary: { create: number } }).summary.create).toBe(1);
  });
});
