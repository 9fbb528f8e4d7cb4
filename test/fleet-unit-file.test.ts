import { describe, expect, it } from "@jest/globals";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseConfig } from "../reconciler/config/load.js";
import { renderAll } from "../reconciler/render/render.js";
import {
  fleetUnitHash,
  parseUnitFile,
  serializeUnitOptions,
  UnitFileSyntaxError,
} from "../reconciler/targets/fleet/unit-file.js";
import { serialize as fakeSerialize, unitHash as fakeHash } from "./fleet-server/wire.js";
import { ROOT } from "./helpers/cli.js";

const roundTrip = (text: string) => {
  const options = parseUnitFile(text);
  expect(parseUnitFile(serializeUnitOptions(options))).toEqual(options);
  return options;
};

describe("unit files ⇄ fleet options", () => {
  it("keeps sections, repeated keys, empty values and order; drops # and ; comments", () => {
    const options = roundTrip(
      [
        "# leading comment",
        "[Unit]",
        "Description=web  ",
        "; another comment",
        "After=a.service",
        "After=b.service",
        "",
        "[Service]",
        "Environment=",
        "Environment=A=1 B=2",
        "ExecStart=/bin/sh -c 'echo a=b'",
        "  # indented comment",
        "[X-Fleet]",
        "Conflicts=web@*.service",
      ].join("\n"),
    );
    expect(options).toEqual([
      { section: "Unit", name: "Description", value: "web" },
      { section: "Unit", name: "After", value: "a.service" },
      { section: "Unit", name: "After", value: "b.service" },
      { section: "Service", name: "Environment", value: "" },
      { section: "Service", name: "Environment", value: "A=1 B=2" },
      { section: "Service", name: "ExecStart", value: "/bin/sh -c 'echo a=b'" },
      { section: "X-Fleet", name: "Conflicts", value: "web@*.service" },
    ]);
  });

  it("joins backslash continuations with a space and skips comment lines inside them", () => {
    const options = roundTrip(
      "[Service]\nExecStart=/usr/bin/docker run \\\n  --rm \\\n# a comment inside\n  busybox\nRestart=always\r\n",
    );
    expect(options).toEqual([
      { section: "Service", name: "ExecStart", value: "/usr/bin/docker run  --rm  busybox" },
      { section: "Service", name: "Restart", value: "always" },
    ]);
  });

  it("names the line of a syntax error", () => {
    expect(() => parseUnitFile("[Unit]\nDescription=x\nnot an option\n")).toThrow(
      /line 3: expected KEY=VALUE/,
    );
    expect(() => parseUnitFile("Description=x\n")).toThrow(UnitFileSyntaxError);
    expect(() => parseUnitFile("[Unit\n")).toThrow(/line 1: unterminated section/);
    expect(() => parseUnitFile("[Service]\nExecStart=a \\")).toThrow(/continuation/);
  });

  it("names the line and at most the key of a syntax error, never a value that may be a secret", () => {
    const secret = "hunter2-s3cret";
    const bad = [
      `[Service]\nPASSWORD=${secret}\nDB_PASSWORD ${secret}\n`,
      `Environment=DB_PASSWORD=${secret}\n`,
      `[Service]\n=${secret}\n`,
      `[Service] Environment=DB_PASSWORD=${secret}\n`,
      `[Service Environment=DB_PASSWORD=${secret}\n`,
    ];
    const messages = bad.map((text) => {
      try {
        parseUnitFile(text);
      } catch (error) {
        if (error instanceof UnitFileSyntaxError) return error.message;
      }
      return "parsed";
    });
    expect(messages).toEqual([
      "line 3: expected KEY=VALUE, got a line without '='",
      "line 1: option 'Environment' before any [Section] header",
      "line 2: empty option name (the line starts with '=')",
      "line 1: text after the ']' of a section header",
      "line 1: unterminated section header (no closing ']')",
    ]);
    for (const message of messages) expect(message).not.toContain(secret);
  });

  it("serializes exactly like fleet (go-systemd), so the hash matches /fleet/v1/state", () => {
    const options = parseUnitFile("[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n[Unit]\nAfter=y\n");
    expect(serializeUnitOptions(options)).toBe(
      "[Unit]\nDescription=x\nAfter=y\n\n[Service]\nExecStart=/bin/true\n",
    );
    expect(serializeUnitOptions(options)).toBe(fakeSerialize(options));
    expect(fleetUnitHash(options)).toBe(fakeHash(options));
    // printf '[Service]\nExecStart=/usr/bin/sleep 3000\n' | sha1sum
    expect(fleetUnitHash([{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 3000" }])).toBe(
      "248b997d6becee1b835b7ec7d9c8e68d7dd24623",
    );
  });

  it("round-trips every unit the built-in and example templates render for staging", async () => {
    const example = path.join(ROOT, "sysconfig-example");
    const parsed = parseConfig(await readFile(path.join(example, "sysconfig.yaml"), "utf8"));
    if (!parsed.config) throw new Error(parsed.issues.join("\n"));
    const files = await renderAll(example, parsed.config, "staging");
    expect(files.map((f) => f.path)).toEqual([
      "rendered/hello.service",
      "rendered/legacy-api.service",
      "rendered/worker@.service",
    ]);
    for (const file of files) {
      const options = roundTrip(file.content);
      const sections = [...new Set(options.map((o) => o.section))];
      expect(sections).toEqual(["Unit", "Service", "X-Fleet"]);
      expect(options.find((o) => o.name === "ExecStart")?.value).toContain("docker run");
    }
    const worker = parseUnitFile(files[2]?.content ?? "");
    expect(worker.filter((o) => o.name === "ExecStartPre")).toHaveLength(3);
  });
});
