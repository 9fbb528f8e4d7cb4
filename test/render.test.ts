import { describe, expect, it, jest } from "@jest/globals";
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

describe("templates have no side effects and every error names the template and line", () => {
  const context = { service: { name: "web", env: [{ name: "A", value: "1" }] }, v: "x" };
  const fails = (source: string) => {
    try {
      renderTemplate(source, "templates/t.hbs", context);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      return (error as Error).message;
    }
    throw new Error(`rendered without error: ${source}`);
  };

  it("refuses {{log}}, which would write to sysconfig's output, and writes nothing", () => {
    const writes: string[] = [];
    const record = (...args: unknown[]) => void writes.push(args.map(String).join(" "));
    const spies = [
      ...(["log", "info", "warn", "error", "debug"] as const).map((method) =>
        jest.spyOn(console, method).mockImplementation(record),
      ),
      jest.spyOn(process.stdout, "write").mockImplementation((chunk) => (record(chunk), true)),
      jest.spyOn(process.stderr, "write").mockImplementation((chunk) => (record(chunk), true)),
    ];
    try {
      for (const source of [
        "a\n{{log 'sysconfig: valid'}}\n",
        '{{log \'{"event":"run.finished","result":"success"}\' level="error"}}',
        "{{#each service.env}}\n{{log name}}{{/each}}",
      ]) {
        expect(fails(source)).toMatch(/^templates\/t\.hbs:\d+: template error: \{\{log\}\} is not available/);
      }
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
    expect(writes).toEqual([]);
  });

  it("turns Handlebars' internal errors into the template's line and plain words", () => {
    expect(fails("a\n{{lookup}}\n")).toMatch(
      /^templates\/t\.hbs:2: template error: \{\{lookup\}\} takes 2 arguments/,
    );
    expect(fails("{{lookup service 'constructor'}}")).toContain(`{{lookup}}: "constructor" is not defined`);
    expect(fails("\n\n{{#each}}{{/each}}")).toMatch(/^templates\/t\.hbs:3: template error: \{\{each\}\}/);
    expect(fails("{{#with}}x{{/with}}")).toMatch(/^templates\/t\.hbs:1: /);
    expect(fails("x\n{{> header}}")).toMatch(/^templates\/t\.hbs:2: template error: partials/);
    expect(fails('{{#*inline "p"}}x{{/inline}}')).toMatch(/^templates\/t\.hbs:1: template error: decorators/);
    for (const source of ["a\n{{lookup}}", "{{#each}}{{/each}}", "{{#with}}{{/with}}", "{{log 1}}"]) {
      expect(fails(source)).not.toMatch(/Cannot read properties|Cannot use 'in' operator|is not a function/);
    }
  });

  it("refuses {{json}} without an argument instead of printing the whole context", () => {
    const message = fails("env: {{json}}\n");
    expect(message).toMatch(/^templates\/t\.hbs:1: template error: \{\{json\}\} takes 1 argument, got 0/);
    expect(message).not.toContain('"value":"1"');
    expect(renderTemplate("{{json v}}", "t.hbs", context)).toBe('"x"\n');
  });

  it("refuses a rendered file over 1 MiB (exit 3) and stops 8 nested #each early", () => {
    const many = { list: Array.from({ length: 10 }, (_, i) => i), big: "z".repeat(200_000) };
    expect(() => renderTemplate("{{#each list}}{{@root.big}}{{/each}}", "templates/big.hbs", many)).toThrow(
      /^templates\/big\.hbs: renders 2000000 bytes, more than a rendered file may hold \(1048576 bytes, 1 MiB\)/,
    );
    const nested = `${"{{#each @root.list}}".repeat(8)}x${"{{/each}}".repeat(8)}`;
    const started = Date.now();
    const before = process.memoryUsage().heapUsed;
    expect(() => renderTemplate(nested, "templates/nested.hbs", many)).toThrow(
      /^templates\/nested\.hbs:1: template error: .*more than 100000 block bodies/,
    );
    const empty = `${"{{#each @root.list}}".repeat(8)}${"{{/each}}".repeat(8)}`;
    expect(() => renderTemplate(empty, "templates/empty.hbs", many)).toThrow(/more than 100000 block bodies/);
    // A long value repeated is stopped while it is built, not after the memory is gone.
    expect(() => renderTemplate("{{big}}\n".repeat(1500), "templates/rep.hbs", many)).toThrow(
      /^templates\/rep\.hbs: template error: the template produces more than 16 MiB/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(500 * 1024 * 1024);
    expect(() => renderTemplate("{{v}}".repeat(2001), "templates/many.hbs", context)).toThrow(
      /2001 \{\{…\}\} expressions, more than a template may \(2000/,
    );
  });

  it("refuses control characters in the rendered output, DEL and C1 included, naming the line", () => {
    for (const value of ["a\u001b[2Jb", "a\rb", "a\u0085b", "a\u007fb", "a\u0000b"]) {
      for (const source of ["ok: 1\nvalue: {{v}}\n", "ok: 1\nvalue: {{json v}}\n"]) {
        if (source.includes("json") && /[^\P{Cc}\u007f-\u009f]/u.test(value)) continue; // JSON escapes C0 itself
        let message = "";
        try {
          renderTemplate(source, "templates/t.hbs", { v: value });
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message).toMatch(
          /^templates\/t\.hbs: the rendered file's line 2 holds the control character "\\(u00|r)/,
        );
        expect(message).not.toMatch(/[^\P{Cc}\n]/u);
      }
    }
    expect(renderTemplate("value: {{json v}}", "t.hbs", { v: "a\u001bb" })).toBe('value: "a\\u001bb"\n');
  });
});
