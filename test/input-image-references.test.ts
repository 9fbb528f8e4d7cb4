// Image references by Docker's grammar, in sysconfig.yaml's image, build's --image and --base; and the
// dependsOn message. Plain data: parseConfig and the checks, no I/O.
import { describe, expect, it } from "@jest/globals";
import { checkRepository } from "../cli/images/tags.js";
import { parseConfig } from "../reconciler/config/load.js";
import { parseImageReference } from "../reconciler/registry/image-reference.js";

const config = (image: string, extra = "") =>
  [
    "name: acme",
    "image: 127.0.0.1:5000/acme/sysconfig",
    "environments: {develop: {target: {kind: docker}}}",
    "services:",
    "  web:",
    `    image: ${JSON.stringify(image)}`,
    "    tag: 1-develop",
    extra,
  ].join("\n");

const issuesOf = (image: string, extra = ""): string[] => parseConfig(config(image, extra)).issues ?? [];

describe("image references", () => {
  it("accepts an upper-case registry host, as Docker does, and refuses an upper-case path saying why", () => {
    for (const image of ["Registry.Example.com/acme/web", "MYHOST:5000/acme/web", "localhost:5000/web"]) {
      expect({ image, issues: issuesOf(image) }).toEqual({ image, issues: [] });
    }
    const [issue] = issuesOf("registry.example.com/Acme/web");
    expect(issue).toContain("the repository path has upper-case letters");
    expect(issue).toContain("the registry host may have upper case");
  });

  it("refuses a registry port above 65535, naming the reason", () => {
    for (const image of ["127.0.0.1:99999/acme/web", "registry:0/acme/web", "registry:123456/acme/web"]) {
      const [issue] = issuesOf(image);
      expect(issue).toMatch(
        /services\.web\.image: expected an image repository without tag.*the registry port "\d+" is not a port number \(1 to 65535\)/,
      );
    }
    expect(issuesOf("127.0.0.1:65535/acme/web")).toEqual([]);
    expect(() => checkRepository("127.0.0.1:99999/acme/sysconfig", "--image")).toThrow(/not a port number/);
  });

  it("refuses a digest in image: saying digests are not supported there, and takes one in --base", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const [issue] = issuesOf(`127.0.0.1:5000/acme/web@${digest}`);
    expect(issue).toContain("it pins a digest (@…): sysconfig deploys by tag");
    expect(issue).toContain("digests are not supported here");
    expect(issuesOf("127.0.0.1:5000/acme/web:1.0")[0]).toContain("the tag goes in the service's tag: field");
    expect(parseImageReference(`127.0.0.1:5000/acme/reconciler:1.2@${digest}`)).toEqual({
      host: "127.0.0.1:5000",
      path: "acme/reconciler",
      tag: "1.2",
      digest,
    });
    expect(parseImageReference("acme/reconciler@sha256:abc")).toEqual({
      problem: "a sha256 digest is exactly 64 lower-case hex digits (got 3 characters)",
    });
  });
});

describe("dependsOn", () => {
  it("names the unknown service once, with the services there are", () => {
    const issues = issuesOf("127.0.0.1:5000/acme/web", "    dependsOn: [helo, constructor]");
    expect(issues).toEqual([
      'sysconfig.yaml: services.web.dependsOn.0: expected the name of a service in this file (web), got "helo"',
      'sysconfig.yaml: services.web.dependsOn.1: expected the name of a service in this file (web), got "constructor"',
    ]);
  });
});
