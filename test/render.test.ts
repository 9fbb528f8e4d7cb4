import { describe, expect, it } from "@jest/globals";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseConfig } from "../reconciler/config/load.js";
import { renderAll, renderTemplate } from "../reconciler/render/render.js";
import { InvalidInputError } from "../reconciler/errors.js";
import { ROOT } from "./helpers/cli.js";

const EXAMPLE = path.join(ROOT, "sysconfig-example");

async function exampleConfig() {
  const result = parseConfig(await readFile(path.join(EXAMPLE, "sysconfig.yaml"), "utf8"));
  if (!result.config) throw new Error(result.issues.join("\n"));
  return result.config;
}

describe("rendering", () => {
  it("keeps '=' and quotes unescaped (HTML escaping is off)", () => {
    expect(renderTemplate("Environment={{v}}", "t.hbs", { v: `A=1 "x" <y>` })).toBe(
      `Environment=A=1 "x" <y>\n`,
    );
  });

  it("names the template, line and variable when a variable is missing", () => {
    expect(() =>
      renderTemplate("[Unit]\nDescription={{service.nmae}}\n", "templates/x.hbs", { service: {} }),
    ).toThrow(/templates\/x\.hbs:2: template variable 'nmae'/);
    expect(() => renderTemplate("{{nope}}", "x.hbs", {})).toThrow(InvalidInputError);
  });

  it("renders byte-identical output for the same inputs", async () => {
    const config = await exampleConfig();
    const first = await renderAll(EXAMPLE, config, "staging");
    const second = await renderAll(EXAMPLE, config, "staging");
    expect(second).toEqual(first);
    expect(first.map((f) => f.path)).toEqual([
      "rendered/hello.service",
      "rendered/legacy-api.service",
      "rendered/worker@.service",
    ]);
  });

  it("renders for the target kind of the environment", async () => {
    const config = await exampleConfig();
    const docker = await renderAll(EXAMPLE, config, "develop");
    const kube = await renderAll(EXAMPLE, config, "master");
    expect(docker.map((f) => f.path)).toContain("rendered/hello.yaml");
    expect(kube.find((f) => f.service === "hello")?.content).toMatch(/kind: Deployment[\s\S]*kind: Service/);
    const fleet = await renderAll(EXAMPLE, config, "staging");
    expect(fleet.find((f) => f.service === "legacy-api")?.content).toContain("MachineMetadata=role=api");
  });
});

describe("config validation", () => {
  it("reports every problem with the dotted path, expected and actual value", () => {
    const result = parseConfig(
      "name: Acme!\nimage: x\nenvironments: {develop: {target: {kind: nomad}}}\nservices:\n  web:\n    image: r/web\n    tag: 'latest'\n",
      "repo/sysconfig.yaml",
    );
    expect(result.issues).toBeDefined();
    const text = (result.issues ?? []).join("\n");
    expect(text).toMatch(/repo\/sysconfig\.yaml: name: expected .*got "Acme!"/);
    expect(text).toMatch(/environments\.develop\.target\.kind/);
    expect(text).toMatch(/services\.web\.tag: expected .*58-develop.*got "latest"/);
  });

  it("refuses control characters in values that reach unit files", () => {
    const result = parseConfig(
      'name: acme\nimage: r/c\nenvironments: {develop: {}}\nservices:\n  web:\n    image: r/web\n    tag: 1-develop\n    env: {A: "x\\nExecStartPre=/bin/rm -rf /"}\n',
    );
    expect((result.issues ?? []).join("\n")).toMatch(
      /services\.web\.env\.A: expected a string without control characters/,
    );
  });
});
