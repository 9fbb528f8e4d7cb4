// The demo's age identities (demo/identities/demo.key: one key per environment of the example), for
// tests that run the config image in a container the way the deploy files do: the file bind-mounted
// read-only, named by SYSCONFIG_IDENTITY_FILE. In-process and CLI runs get it from test/setup-env.js.
import path from "node:path";
import { ROOT } from "./cli.js";

export const DEMO_IDENTITY_FILE = path.join(ROOT, "demo/identities/demo.key");
/** Where deploy/kubernetes/cronjob.yaml mounts the identity Secret's key.txt. */
export const IDENTITY_MOUNT = "/run/sysconfig/identity/key.txt";

/** Docker HostConfig.Binds entry and Env entry that give a config-image container the demo identity. */
export const identityBind = `${DEMO_IDENTITY_FILE}:${IDENTITY_MOUNT}:ro`;
export const identityEnv = `SYSCONFIG_IDENTITY_FILE=${IDENTITY_MOUNT}`;
