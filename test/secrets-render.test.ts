// What templates and rendered/ hold for encrypted values (references, never values), and how each target
// turns a rendered reference into its desired object: pure, with literal config.
import { describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { parseConfig } from "../reconciler/config/load.js";
import type { ServiceConfig } from "../reconciler/config/schema.js";
import type { DesiredState } from "../reconciler/model.js";
import { renderAll } from "../reconciler/render/render.js";
import { NO_SECRETS_CHECKSUM, secretsContext } from "../reconciler/render/secrets-context.js";
import { encryptTo } from "../reconciler/secrets/age.js";
import { newIdentity } from "../reconciler/secrets/identity.js";
import {
  kubernetesDesiredObjects,
  type KubernetesDesiredSpec,
} from "../reconciler/targets/kubernetes/desired.js";
import { ROOT } from "./helpers/cli.js";

async function state(
  kind: "kubernetes" | "fleet" | "docker",
): Promise<{ state: DesiredState; value: string }> {
  const { recipient } = await newIdentity();
  const value = "render-secret-value";
  const ciphertext = await encryptTo(value, [recipient]);
  const target = kind === "kubernetes" ? "{ kind: kubernetes, namespace: shop }" : `{ kind: ${kind} }`;
  const text = `name: acme
image: 127.0.0.1:5000/acme/sysconfig
environments:
  prod:
    target: ${target}
    secrets: { recipients: [${recipient}] }
services:
  web:
    image: 127.0.0.1:5000/acme/web
    tag: 1-prod
    env: { GREETING: hi }
    secrets:
      API_TOKEN:
        prod:
          recipients: [${recipient}]
          ciphertext: ${JSON.stringify(ciphertext)}
`;
  const parsed = parseConfig(text);
  if (!parsed.config) throw new Error(parsed.issues.join("\n"));
  const files = await renderAll(ROOT, parsed.config, "prod");
  return {
    value,
    state: {
      system: "acme",
      environment: "prod",
      revision: "r1",
      target: parsed.config.environments.prod?.target ?? { kind: "docker" },
      services: parsed.config.services,
      files,
    },
  };
}

describe("rendered secrets", () => {
  it("kubernetes: a Secret with references sealed into a fingerprint annotation, secretKeyRef in the Deployment", async () => {
    const { state: s, value } = await state("kubernetes");
    const rendered = s.files.map((f) => f.content).join("\n");
    expect(rendered).not.toContain(value);
    expect(rendered).toMatch(/"API_TOKEN": "<secret age:[0-9a-f]{16}>"/);
    const objects = kubernetesDesiredObjects(s);
    const secret = objects.find((o) => o.subject.includes("/Secret/"));
    const manifest = (secret?.spec as KubernetesDesiredSpec).manifest;
    expect(manifest.stringData).toBeUndefined();
    expect(manifest.metadata.annotations?.["sysconfig.io/secret-fingerprints"]).toMatch(/^API_TOKEN=age:/);
    const deployment = objects.find((o) => o.subject.includes("/Deployment/"));
    expect(JSON.stringify(deployment?.spec)).toContain(
      '"secretKeyRef":{"name":"web-secrets","key":"API_TOKEN"}',
    );
  });

  it("fleet: the reference on its own Environment= line, -e NAME on ExecStart", async () => {
    const { state: s, value } = await state("fleet");
    const unit = s.files[0]?.content ?? "";
    expect(unit).not.toContain(value);
    expect(unit).toMatch(/^Environment="API_TOKEN=<secret age:[0-9a-f]{16}>"$/m);
    expect(unit).toMatch(/^ExecStart=.* -e API_TOKEN -e GREETING=hi /m);
  });

  it("docker: the reference as the env value", async () => {
    const { state: s, value } = await state("docker");
    const spec = s.files[0]?.content ?? "";
    expect(spec).not.toContain(value);
    expect(spec).toMatch(/^ {2}"API_TOKEN": "<secret age:[0-9a-f]{16}>"$/m);
  });
});

describe("the secrets checksum templates see", () => {
  it("is the SHA-256 of the secrets' names and fingerprints, and of no text for a service without secrets", () => {
    const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
    // Written out rather than hashed at each render (services without secrets are most of them).
    expect(NO_SECRETS_CHECKSUM).toBe(sha256(""));
    const service = { secrets: {} } as unknown as ServiceConfig;
    expect(secretsContext("web", service, "prod").secretsChecksum).toBe(`sha256:${sha256("").slice(0, 16)}`);
    const ciphertext = "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n";
    const sealed = { secrets: { TOKEN: { prod: { recipients: ["r"], ciphertext } } } };
    const context = secretsContext("web", sealed as unknown as ServiceConfig, "prod");
    const fingerprint = context.secrets[0]?.fingerprint ?? "";
    expect(fingerprint).toMatch(/^age:[0-9a-f]{16}$/);
    expect(context.secretsChecksum).toBe(`sha256:${sha256(`TOKEN=${fingerprint}\n`).slice(0, 16)}`);
  });
});
