// The head of sysconfig.yaml (everything but the top-level services block) names the system and its
// environments exactly as the whole file does, or gives nothing: it only lets a run start the target's
// reads before the services are parsed, and the whole file still decides.
import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configHead, withoutServices } from "../reconciler/config/head.js";
import { parseYamlText } from "../reconciler/config/yaml-text.js";

const example = readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "sysconfig-example", "sysconfig.yaml"),
  "utf8",
);

/** name and environments as the whole file reads. */
function whole(text: string): unknown {
  const { name, environments } = parseYamlText(text, "sysconfig.yaml").value as Record<string, unknown>;
  return { name, environments };
}

const services = "services:\n  web:\n    image: registry:5000/web\n    tag: 1-develop\n";
const head = "name: acme\nenvironments:\n  develop:\n    target:\n      kind: docker\n";

describe("configHead", () => {
  it("reads the example's name and environments as the whole file does, without its services", () => {
    expect(configHead(example)).toEqual(whole(example));
    expect(withoutServices(example)).not.toMatch(/^services:/m);
    expect(withoutServices(example)).not.toMatch(/hello|worker/);
  });

  it.each([
    ["services first", `${services}${head}`],
    [
      "services in the middle",
      `name: acme\n${services}environments:\n  develop:\n    target:\n      kind: docker\n`,
    ],
    ["a comment on the services line", `${head}services: # every service\n  web:\n    tag: 1-develop\n`],
    [
      "comments and blank lines at column 0 inside services",
      `${head}services:\n# web\n\n  web:\n#x: 1\n    tag: 1\n`,
    ],
    ["CRLF line ends", `${head}${services}`.replace(/\n/g, "\r\n")],
    [
      "an anchor in the head that services refer to",
      `x: &t 1-develop\n${head}services:\n  web:\n    tag: *t\n`,
    ],
  ])("%s: the same name and environments as the whole file", (_, text) => {
    expect(configHead(text)).toEqual(whole(text));
    expect(configHead(text)?.environments).toEqual({ develop: { target: { kind: "docker" } } });
  });

  it.each([
    ["flow-style services", `${head}services: { web: { tag: 1-develop } }\n`],
    ["a JSON document", JSON.stringify({ name: "acme", environments: {}, services: {} })],
    ["no services key", head],
    ["an alias into the services block", `${head}other: *t\nservices:\n  web:\n    tag: &t 1\n`],
    ["a second document after services", `${head}${services}---\nname: other\n`],
    ["a name that is no string", `name: [a]\nenvironments: {}\n${services}`],
    ["environments as a list", `name: acme\nenvironments: [develop]\n${services}`],
    ["a syntax error in the head", `name: "acme\nenvironments: {}\n${services}`],
  ])("%s: no head (the run waits for the whole file)", (_, text) => {
    expect(configHead(text)).toBeUndefined();
  });
});
