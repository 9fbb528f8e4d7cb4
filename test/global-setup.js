// Jest global setup: make sure the real test services (Docker engine, registries, sshd, base
// images) are up. Idempotent and fast when they already are; fails the run loudly when they cannot start.
import { execFileSync } from "node:child_process";

export default function globalSetup() {
  if (process.env.SYSCONFIG_SKIP_SERVICES === "1") return;
  execFileSync("bash", ["scripts/services.sh"], { stdio: ["ignore", "inherit", "inherit"] });
}
