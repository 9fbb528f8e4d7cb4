// sysconfig.yaml is read by a fast parser (js-yaml) where it reads exactly as the yaml package does, and
// the careful way (yaml, with line-numbered problems) everywhere else.
import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { parseYamlText } from "../reconciler/config/yaml-text.js";

/** The yaml package's reading, as parseYamlText made it before the fast path. */
function carefulReading(text: string): { value?: unknown; failed: boolean } {
  const doc = parseDocument(text, { uniqueKeys: true }); // the same rule as yaml-text's linear check
  if (doc.errors.length > 0) return { failed: true };
  try {
    return { value: doc.toJS(), failed: false };
  } catch {
    return { failed: true };
  }
}

const scalars = [
  "1",
  "-1",
  "+1",
  "0o17",
  "0x1F",
  "0b101",
  "017",
  "1_000",
  "1.5",
  ".5",
  "5.",
  "1e3",
  "1E+3",
  "1e400",
  "-1e999",
  "-.inf",
  ".Inf",
  ".NaN",
  "~",
  "null",
  "Null",
  "NULL",
  "nul",
  "true",
  "True",
  "TRUE",
  "tRue",
  "yes",
  "no",
  "on",
  "off",
  "y",
  "2001-12-14",
  "12:30",
  "1:20:30",
  "0",
  "-0",
  "00",
  "0.",
  "9007199254740993",
  "'q'",
  '"a\\tb"',
  '"\\u00e9"',
  "[1, 2]",
  "{a: 1}",
  "!!str 1",
  "!!int '7'",
  "!!float 1",
  "!!binary aGk=",
  "!foo x",
  "|\n  a\n  b\n",
  ">-\n  a\n  b\n",
  "'it''s'",
  "+.5",
  "0xFF_FF",
  "hello!",
  "sh -c '! true'",
  "http://a:b@c/d",
  "a - : b",
  "*/5 * * * *",
];
const documents = [
  "__proto__: 1\n",
  "a: &x 1\nb: *x\n",
  "<<: {a: 1}\n",
  "? [a, b]\n: 1\n",
  "1: a\n",
  "null: a\n",
  "~: a\n",
  ": a\n",
  "{null: 1}\n",
  "a: 1\na: 2\n",
  "%YAML 1.1\n---\na: yes\n",
  "",
  "# only a comment\n",
  "---\na: 1\n---\nb: 2\n",
  "a:\n  - b\n  -\n",
  "a: b\n...\n",
  "\ufeffa: 1\n",
  "a:\tb\n",
  "1: a\n'1': b\n",
  "1e400: a\n",
  "a: [1,2,]\n",
  "a: {b: [1, {c: d}]}\n",
  "plain text\n",
  "- 1\n- two\n",
];

describe("parseYamlText", () => {
  it.each([...scalars.map((s) => `key: ${s}\n`), ...documents])(
    "reads %j exactly as the yaml package does",
    (text) => {
      const careful = carefulReading(text);
      const result = parseYamlText(text, "sysconfig.yaml");
      if (careful.failed) expect(result.issues?.length).toBeGreaterThan(0);
      else expect(result).toEqual({ value: careful.value });
    },
  );

  it("reads a 1,000-service sysconfig.yaml without loading the yaml package", () => {
    const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
    const script = `
      import { createRequire } from "node:module";
      const { parseYamlText } = await import(${JSON.stringify(path.join(dist, "reconciler/config/yaml-text.js"))});
      let text = "name: big\\nservices:\\n";
      for (let i = 0; i < 1000; i++) text += \`  svc\${i}:\\n    image: 127.0.0.1:5000/a/svc\${i}\\n    tag: 1-staging\\n    command: [sh, -c, "sleep 3600"]\\n    env: {PORT: "8080"}\\n\`;
      const result = parseYamlText(text, "sysconfig.yaml");
      const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/node_modules/yaml/"));
      process.stdout.write(JSON.stringify({ services: Object.keys(result.value.services).length, loaded }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script]).toString();
    expect(JSON.parse(out)).toEqual({ services: 1000, loaded: false });
  });
});
