// Jest global setup: make sure the real test services (Docker engine, registries, sshd, base
// images, the Kubernetes control plane) are up. Idempotent and fast when they already are (the control
// plane's one-time build from source takes about 4 min); fails the run loudly when they cannot start.
// Then builds the reconciler image once under a fixed tag that is kept: the suites that build their own
// (uniquely tagged, removed afterwards) then reuse its cached layers instead of each building cold
// (on the vfs storage driver a cold build costs ~35 s, a cached one ~13 s).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const CACHE_ANCHOR = "sysconfig-test-cache/reconciler:anchor";

export default function globalSetup() {
  if (process.env.SYSCONFIG_SKIP_SERVICES === "1") return;
  execFileSync("bash", ["scripts/services.sh", "all"], { stdio: ["ignore", "inherit", "inherit"] });
  if (!existsSync("dist/cli/image.js")) {
    throw new Error("test setup: dist/ is missing; run 'npm run build' first ('npm test' does).");
  }
  try {
    execFileSync(process.execPath, ["dist/cli/image.js"], {
      env: { ...process.env, NODE_IMAGE: "sysconfig-base/node:24", SYSCONFIG_RECONCILER_IMAGE: CACHE_ANCHOR },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim().split("\n").slice(-20).join("\n");
    throw new Error(`test setup: building the reconciler image ${CACHE_ANCHOR} failed:\n${output}`);
  }
}
