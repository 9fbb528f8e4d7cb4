// The bump's pure pieces with plain data: YAML edit, input grammar, redaction, failure classes, backoff.
import { describe, expect, it } from "@jest/globals";
import { parseDocument } from "yaml";
import { branchOfTag, buildNumberOf, validateTag } from "../cli/bump/validate.js";
import { setServiceTag, setServiceTemplate } from "../cli/bump/yaml-edit.js";
import { backoffDelay } from "../cli/git/backoff.js";
import { classifyGitFailure } from "../cli/git/push-failure.js";
import { redactSecrets, secretsOf } from "../cli/git/redact.js";
import { locateRepo } from "../cli/git/repo-location.js";
import { InvalidInputError } from "../reconciler/errors.js";

const CONFIG = `# the system
name: acme # trailing comment
services:
  web:
    image: r/web
    tag: 1-develop   # bumped by CI
  api:
    image: r/api
    tag: '7-develop'
  worker:
    image: r/worker
    tag: "7-develop"
    templates: { fleet: templates/w.hbs }
`;

describe("sysconfig.yaml tag edit", () => {
  it("changes only the tag's text and keeps every comment and quote style", () => {
    const out = setServiceTag(CONFIG, "web", "58-develop");
    expect(out).toBe(CONFIG.replace("tag: 1-develop   #", "tag: 58-develop   #"));
    expect(setServiceTag(CONFIG, "api", "8-develop")).toContain("tag: '8-develop'");
    expect(setServiceTag(CONFIG, "worker", "8-develop")).toContain('tag: "8-develop"');
  });

  it("adds a templates entry through the Document API, comments intact", () => {
    const out = setServiceTemplate(CONFIG, "web", "docker", "templates/web.docker.hbs");
    expect(out).toContain("# bumped by CI");
    expect(out).toContain("# the system");
    expect(parseDocument(out).getIn(["services", "web", "templates", "docker"])).toBe(
      "templates/web.docker.hbs",
    );
    const flow = setServiceTemplate(CONFIG, "worker", "docker", "templates/worker.docker.hbs");
    expect(parseDocument(flow).toJS()).toMatchObject({
      services: {
        worker: { templates: { fleet: "templates/w.hbs", docker: "templates/worker.docker.hbs" } },
      },
    });
  });

  it("falls back to the Document API for a tag shared through an alias", () => {
    const text = "base: &t 1-develop\nservices:\n  web:\n    tag: *t\n";
    const out = setServiceTag(text, "web", "2-develop");
    expect(parseDocument(out).toJS()).toEqual({ base: "1-develop", services: { web: { tag: "2-develop" } } });
  });
});

describe("tag grammar", () => {
  it("splits a tag into build number and branch", () => {
    expect(branchOfTag("58-release-2.1")).toBe("release-2.1");
    expect(buildNumberOf("900719925474099312345-develop")).toBe(900719925474099312345n);
  });
  it.each([
    "58-develop\n",
    "58-dev elop",
    "58-a/b",
    "58-{{x}}",
    "58-$(id)",
    "58-",
    "x-develop",
    `1-${"a".repeat(127)}`,
  ])("refuses %j", (tag) => expect(() => validateTag(tag)).toThrow(InvalidInputError));
  it("accepts a 128-character tag", () => expect(() => validateTag(`1-${"a".repeat(126)}`)).not.toThrow());
});

describe("redaction", () => {
  it("hides passwords and lone http tokens, keeps ssh users", () => {
    expect(redactSecrets("fatal: unable to access 'https://ci:tok3n@host/x.git/'")).toBe(
      "fatal: unable to access 'https://ci:***@host/x.git/'",
    );
    expect(redactSecrets("https://tok3n@host/x.git")).toBe("https://***@host/x.git");
    expect(redactSecrets("ssh://git@host/x.git")).toBe("ssh://git@host/x.git");
  });
  it("hides a known secret wherever it appears, raw or percent-decoded", () => {
    const url = "https://ci:p%40ss%2Fw0rd@host/x.git";
    expect(secretsOf(url)).toEqual(["p%40ss%2Fw0rd", "p@ss/w0rd"]);
    expect(redactSecrets("auth for p@ss/w0rd failed", secretsOf(url))).toBe("auth for *** failed");
  });
});

describe("git failure classes", () => {
  it("tells a moved remote from a transient fault from a permanent refusal", () => {
    expect(classifyGitFailure(" ! [rejected]        HEAD -> develop (fetch first)")).toBe("moved");
    expect(classifyGitFailure(" ! [remote rejected] HEAD -> develop (failed to update ref)")).toBe("moved");
    expect(classifyGitFailure(" ! [remote rejected] HEAD -> develop (pre-receive hook declined)")).toBe(
      "permanent",
    );
    expect(classifyGitFailure("fatal: unable to access: The requested URL returned error: 503")).toBe(
      "transient",
    );
    expect(classifyGitFailure("fatal: Authentication failed for 'https://host/x.git/'")).toBe("permanent");
  });
});

describe("backoff", () => {
  it("grows exponentially with jitter inside [base/2, cap]", () => {
    const policy = { baseMs: 100, capMs: 1000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 1)).toBe(400);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
  });
});

describe("--repo classification", () => {
  const never = () => Promise.resolve(undefined);
  it("treats scheme URLs and scp-like addresses as remotes without touching the disk", async () => {
    for (const url of ["https://h/x.git", "ssh://git@h:22/x.git", "git@h:acme/x.git", "file:///srv/x.git"]) {
      expect(await locateRepo(url, "/", never)).toMatchObject({ kind: "remote", url });
    }
  });
  it.each(["--upload-pack=x", "ext::sh -c id", "fd::3", "ftp://h/x.git", "/no/such/dir"])(
    "refuses %j with exit 3",
    async (repo) => {
      await expect(locateRepo(repo, "/", never)).rejects.toBeInstanceOf(InvalidInputError);
    },
  );
});
