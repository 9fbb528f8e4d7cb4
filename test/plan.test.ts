import { describe, expect, it } from "@jest/globals";
import { diffObjects } from "../reconciler/diff/diff.js";
import type { ActualObject, ChangeSet, DesiredObject } from "../reconciler/model.js";
import { planJson } from "../reconciler/plan/json.js";
import {
  isSecretName,
  maskSecrets,
  maskUnitSecrets,
  maskValue,
  maskYamlSecrets,
} from "../reconciler/text/mask.js";
import { formatPlanText, formatReportText } from "../reconciler/plan/text.js";

describe("secret masking", () => {
  it("recognises secret-looking names and leaves others alone", () => {
    for (const name of [
      "DB_PASSWORD",
      "PASS",
      "API_TOKEN",
      "AWS_SECRET_ACCESS_KEY",
      "GITHUB_AUTH",
      "Credentials",
    ]) {
      expect(isSecretName(name)).toBe(true);
    }
    for (const name of ["GREETING", "QUEUE", "LOG_LEVEL", "PORT"]) expect(isSecretName(name)).toBe(false);
  });

  it("masks Environment= assignments, quoted or not, and keeps the rest of the line", () => {
    const text = 'Environment=LOG_LEVEL=info DB_PASSWORD=hunter2 "API_TOKEN=two words"\n';
    const masked = maskUnitSecrets(text);
    expect(masked).toBe(
      `Environment=LOG_LEVEL=info DB_PASSWORD=${maskValue("hunter2")} "API_TOKEN=${maskValue("two words")}"\n`,
    );
    expect(masked).not.toMatch(/hunter2|two words/);
  });

  it("masks docker -e arguments in ExecStart lines", () => {
    const line =
      'ExecStart=/usr/bin/docker run --rm --name acme-web -e GREETING=hi -e "DB_PASSWORD=s3cr3t pw" -e API_KEY=abc 127.0.0.1:5000/acme/web:1-develop';
    const masked = maskUnitSecrets(line);
    expect(masked).toContain("-e GREETING=hi");
    expect(masked).toContain(`-e "DB_PASSWORD=${maskValue("s3cr3t pw")}"`);
    expect(masked).toContain(`-e API_KEY=${maskValue("abc")}`);
    expect(masked).toMatch(/127\.0\.0\.1:5000\/acme\/web:1-develop$/);
    expect(masked).not.toMatch(/s3cr3t|abc /);
  });

  it("masks YAML env maps, env lists and Kubernetes Secret data", () => {
    const spec = 'service: "web"\nenv:\n  "GREETING": "hi"\n  "DB_PASSWORD": "hunter2"\nports:\n  []\n';
    expect(maskYamlSecrets(spec)).toBe(
      `service: "web"\nenv:\n  "GREETING": "hi"\n  "DB_PASSWORD": "${maskValue("hunter2")}"\nports:\n  []\n`,
    );
    const deployment =
      'spec:\n  containers:\n    - name: web\n      env:\n        - { name: "API_TOKEN", value: "t0k" }\n        - { name: "MODE", value: "fast" }\n        - name: SECRET_KEY\n          value: sk\n';
    const masked = maskYamlSecrets(deployment);
    expect(masked).toContain(`- { name: "API_TOKEN", value: "${maskValue("t0k")}" }`);
    expect(masked).toContain('- { name: "MODE", value: "fast" }');
    expect(masked).toContain(`value: "${maskValue("sk")}"`);
    const secret =
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  user: YWRtaW4=\n  password: aHVudGVyMg==\n";
    expect(maskYamlSecrets(secret)).not.toMatch(/YWRtaW4=|aHVudGVyMg==/);
  });

  it("is idempotent and shows a changed secret as a different hash", () => {
    const text = "Environment=DB_PASSWORD=one\n";
    expect(maskSecrets(maskSecrets(text))).toBe(maskSecrets(text));
    expect(maskSecrets(text)).not.toBe(maskSecrets("Environment=DB_PASSWORD=two\n"));
    expect(maskValue("one")).toMatch(/^<secret hmac:[0-9a-f]{8}>$/);
  });
});

const unit = (tag: string, password: string) =>
  `[Service]\nEnvironment=DB_PASSWORD=${password}\nExecStart=/usr/bin/docker run acme/web:${tag}\n`;
const desiredWeb = (tag: string, password: string): DesiredObject => ({
  subject: "fleet:web.service",
  name: "web.service",
  service: "web",
  text: unit(tag, password),
  hash: `${tag}-${password}`,
  dependsOn: [],
  spec: {},
});
const liveWeb: ActualObject = {
  subject: "fleet:web.service",
  name: "web.service",
  owned: true,
  service: "web",
  hash: "1-develop-old",
  text: unit("1-develop", "old-secret"),
  spec: {},
};

function sampleChangeSet(): ChangeSet {
  return {
    system: "acme",
    environment: "staging",
    revision: "0123456789abcdef0123456789abcdef01234567",
    targetKind: "fleet",
    changes: diffObjects(
      [
        desiredWeb("2-develop", "new-secret"),
        { ...desiredWeb("1", "x"), subject: "fleet:api.service", name: "api.service", service: "api" },
      ],
      [
        liveWeb,
        {
          subject: "fleet:old.service",
          name: "old.service",
          owned: true,
          service: "old",
          hash: "h",
          text: "",
          spec: {},
        },
        { subject: "fleet:etcd.service", name: "etcd.service", owned: false, text: "", spec: {} },
      ],
    ),
  };
}

describe("plan text", () => {
  it("prints one line per change, a masked unified diff for updates and the summary line", () => {
    const text = formatPlanText(sampleChangeSet(), { color: false });
    expect(text).toContain("Plan for acme (staging) at 0123456789ab on fleet:");
    expect(text).toMatch(/^\+ create fleet:api\.service$/m);
    expect(text).toMatch(/^- delete fleet:old\.service$/m);
    expect(text).toMatch(/^~ update fleet:web\.service$/m);
    expect(text).toMatch(/^ {2}unmanaged fleet:etcd\.service \(not created by sysconfig; left alone\)$/m);
    expect(text).toMatch(/^ {4}--- live\/fleet:web\.service$/m);
    expect(text).toMatch(/^ {4}-ExecStart=\/usr\/bin\/docker run acme\/web:1-develop$/m);
    expect(text).toMatch(/^ {4}\+ExecStart=\/usr\/bin\/docker run acme\/web:2-develop$/m);
    expect(text).toContain(`+Environment=DB_PASSWORD=${maskValue("new-secret")}`);
    expect(text).not.toMatch(/old-secret|new-secret/);
    expect(text).toMatch(/Plan: 1 to create, 1 to update, 1 to delete, 0 unchanged, 1 unmanaged\.\n$/);
    expect(text).not.toContain("\u001b[");
  });

  it("prints a diff shared by several instances once and points back to it", () => {
    const instance = (n: number, tag: string): DesiredObject => ({
      ...desiredWeb(tag, "pw"),
      subject: `fleet:web@${n}.service`,
      name: `web@${n}.service`,
    });
    const live = (n: number): ActualObject => ({
      ...liveWeb,
      subject: `fleet:web@${n}.service`,
      name: `web@${n}.service`,
    });
    const changeSet = {
      ...sampleChangeSet(),
      changes: diffObjects(
        [instance(1, "2"), instance(2, "2")],
        [live(1), live(2), { ...liveWeb, subject: "fleet:x", name: "x", owned: false }],
      ),
    };
    const text = formatPlanText(changeSet, { color: false });
    expect(text.match(/\+\+\+ desired/g)).toHaveLength(1);
    expect(text).toMatch(/^~ update fleet:web@2\.service\n {4}\(same changes as fleet:web@1\.service\)$/m);
  });

  it("uses colour only when asked", () => {
    expect(formatPlanText(sampleChangeSet(), { color: true })).toContain(
      "\u001b[32m+ create fleet:api.service",
    );
  });

  it("says there is nothing to do when everything is unchanged", () => {
    const changeSet = {
      ...sampleChangeSet(),
      changes: diffObjects([desiredWeb("1", "x")], [{ ...liveWeb, hash: "1-x" }]),
    };
    const text = formatPlanText(changeSet, { color: false });
    expect(text).not.toMatch(/unchanged fleet:web/);
    expect(text).toContain("No changes: the target matches the desired state.");
    expect(text).toContain("Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged, 0 unmanaged.");
  });

  it("reports each result and a result line, masking secrets in reasons", () => {
    const text = formatReportText(
      [
        { subject: "fleet:a.service", action: "create", status: "healthy" },
        {
          subject: "fleet:b.service",
          action: "update",
          status: "failed",
          reason: "rejected Environment=API_TOKEN=abc",
        },
        { subject: "fleet:c.service", action: "update", status: "skipped", reason: "roll of c stopped" },
      ],
      { color: false },
    );
    expect(text).toMatch(/^create {4}fleet:a\.service: healthy$/m);
    expect(text).toContain(`failed: rejected Environment=API_TOKEN=${maskValue("abc")}`);
    expect(text).toContain("Result: 1 healthy, 0 applied, 0 unhealthy, 1 failed, 1 skipped, 0 refused.");
  });
});

describe("plan JSON", () => {
  it("has system, environment, revision, target, changes with diffs, and the summary", () => {
    const doc = planJson(sampleChangeSet(), { endpoint: "http://127.0.0.1:49153" });
    expect(doc).toMatchObject({
      system: "acme",
      environment: "staging",
      revision: "0123456789abcdef0123456789abcdef01234567",
      target: { kind: "fleet", endpoint: "http://127.0.0.1:49153" },
      summary: { create: 1, update: 1, delete: 1, unchanged: 0, unhealthy: 0, unmanaged: 1, conflict: 0 },
    });
    expect(doc.changes.map((c) => `${c.action} ${c.subject}`)).toEqual([
      "create fleet:api.service",
      "unmanaged fleet:etcd.service",
      "delete fleet:old.service",
      "update fleet:web.service",
    ]);
    expect(doc.changes[3]?.diff).toContain("+ExecStart=/usr/bin/docker run acme/web:2-develop");
    expect(JSON.stringify(doc)).not.toMatch(/old-secret|new-secret/);
    expect(doc.result).toBeUndefined();
  });
});
