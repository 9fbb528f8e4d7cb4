// fleet's own rules for a unit run at validate (and render --check, plan: one validation): what fleetd would
// refuse at PUT (go-systemd's line bound, [X-Fleet] combinations) or store and never schedule as meant
// (unknown [X-Fleet] keys, metadata that is not key=value), and sysconfig's own sections, are exit 3 naming
// the file and the option. Real git repos, the built CLI; plan is pointed at a port nothing listens on,
// so it must refuse before connecting.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { unitProblems } from "../reconciler/targets/fleet/spec-rules.js";
import { runCli } from "./helpers/cli.js";
import { commitConfig } from "./helpers/docker-fixtures.js";
import { tempDir } from "./helpers/tmp.js";

let root: string;
let cleanup: () => Promise<void>;
let count = 0;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-fleet-spec-rules-"));
});
afterAll(() => cleanup());

/** A committed fleet config repo whose service `web` renders `unit` (a template text) or the built-in. */
async function repoWith(unit: string | undefined, extra = ""): Promise<string> {
  const dir = path.join(root, `repo-${(count += 1)}`);
  await mkdir(path.join(dir, "templates"), { recursive: true });
  if (unit !== undefined) await writeFile(path.join(dir, "templates", "web.service.hbs"), unit);
  const yaml =
    `name: acme\nimage: 127.0.0.1:5000/acme/sysconfig\n` +
    `environments:\n  main: { target: { kind: fleet, endpoint: "http://127.0.0.1:9" } }\n` +
    `services:\n  web:\n    image: 127.0.0.1:5000/acme/web\n    tag: 1-main\n` +
    (unit !== undefined ? `    templates: { fleet: templates/web.service.hbs }\n` : "") +
    extra;
  await commitConfig(dir, yaml, "config");
  return dir;
}

const unitWith = (fleet: string, more = "") =>
  `[Unit]\nDescription=web {{service.tag}}\n${more}\n[Service]\nExecStart=/usr/bin/docker run --rm ` +
  `{{service.imageRef}}\n\n[X-Fleet]\n${fleet}\n`;

async function refused(dir: string, expected: string[], commands = [["validate"]]): Promise<void> {
  for (const args of commands) {
    const result = await runCli([...args, "--repo", dir]);
    expect({ args, code: result.code }).toEqual({ args, code: 3 });
    for (const text of expected) expect(result.stderr).toContain(text);
    expect(result.stderr).toContain("Fix the service's fleet template");
  }
}

describe("fleet unit rules at validate", () => {
  it("refuses an [X-Fleet] option fleet does not know in validate, render --check and plan", async () => {
    const dir = await repoWith(unitWith("Conflict=web.service"));
    await refused(
      dir,
      ["rendered/web.service: [X-Fleet] Conflict: not an option fleet knows"],
      [["validate"], ["render", "--check"], ["plan"]],
    );
  });

  it("refuses the [X-Fleet] combinations fleetd refuses at PUT", async () => {
    await refused(await repoWith(unitWith("MachineID=abc\nConflicts=db.service")), [
      "[X-Fleet]: MachineID cannot be used with Conflicts",
    ]);
    await refused(await repoWith(unitWith("Global=true\nMachineOf=db.service")), [
      "[X-Fleet]: Global cannot be used with MachineOf",
    ]);
    await refused(await repoWith(unitWith("MachineOf=db.service\nConflicts=d*.service")), [
      "MachineOf=db.service matches Conflicts=d*.service",
    ]);
  });

  it("refuses metadata that is not key=value and a Global fleet reads as false", async () => {
    await refused(await repoWith(unitWith("MachineMetadata=role=api region\nGlobal=yes")), [
      "MachineMetadata: 'region' is not key=value",
      "Global: 'yes' reads as false to fleet",
    ]);
  });

  it("refuses a line fleet's unit parser refuses: the built-in unit of a service with many env values", async () => {
    const env = Array.from({ length: 40 }, (_, i) => `      VAR_${i}: "${"x".repeat(50)}"\n`).join("");
    const dir = await repoWith(undefined, `    env:\n${env}`);
    await refused(dir, [
      "rendered/web.service: [Service] ExecStart: the line is",
      "fleet refuses a unit with a line of 2048 bytes or more",
    ]);
  });

  it("refuses a template that writes sysconfig's own ownership section", async () => {
    const dir = await repoWith(unitWith("Conflicts=web.service", "[X-Sysconfig]\nSystem=other\n"));
    await refused(dir, ["[X-Sysconfig]: the section is sysconfig's own"]);
  });

  it("accepts the example's units, template instances and known options", async () => {
    const fine = await repoWith(
      unitWith("MachineMetadata=role=api\nMachineMetadata=disk=ssd\nConflicts=web@*.service\nGlobal=false"),
    );
    const result = await runCli(["validate", "--repo", fine]);
    expect(`${result.code}: ${result.stderr}`).toBe("0: ");
    const instanced = await repoWith(undefined, "    instances: 3\n");
    const again = await runCli(["validate", "--repo", instanced]);
    expect(`${again.code}: ${again.stderr}`).toBe("0: ");
  });

  it("reads [X-Fleet] values with fleet's unit-name specifiers", () => {
    const options = [
      { section: "X-Fleet", name: "MachineOf", value: "db@%i.service" },
      { section: "X-Fleet", name: "Conflicts", value: "db@2.service" },
    ];
    expect(unitProblems(options, "web@2.service")).toEqual([
      expect.stringContaining("MachineOf=db@2.service matches Conflicts=db@2.service"),
    ]);
    expect(unitProblems(options, "web@1.service")).toEqual([]);
  });
});
