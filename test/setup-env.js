// Jest setup, in every test file: the CLI and pipeline the tests run decrypt the example's secrets
// (sysconfig-example/sysconfig.yaml, hello's API_TOKEN) with the demo's identities, as the demo does.
// A test about a missing or other identity sets SYSCONFIG_IDENTITY_FILE (or --identity-file) itself.
import path from "node:path";
import { fileURLToPath } from "node:url";

export const DEMO_IDENTITY_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../demo/identities/demo.key",
);

process.env.SYSCONFIG_IDENTITY_FILE ??= DEMO_IDENTITY_FILE;
