// Runs the fake fleetd as its own process (for benchmarks, so its memory and CPU are not counted as
// the reconciler's). Prints "ready".
//   node dist/test/fleet-server/serve.js SOCKET_PATH [transitionMs] [delayMs per request]
//   node dist/test/fleet-server/serve.js SOCKET_PATH --realistic ['{"enginePassMs":2000,...}']
import { startFleetServer } from "./fleet-server.js";
import type { FleetTiming } from "./scheduling.js";

const [socketPath, second, third] = process.argv.slice(2);
if (!socketPath) {
  process.stderr.write("usage: serve.js SOCKET_PATH [transitionMs [delayMs] | --realistic [TIMING_JSON]]\n");
  process.exit(2);
}
const server =
  second === "--realistic"
    ? await startFleetServer({ socketPath, realistic: JSON.parse(third ?? "{}") as Partial<FleetTiming> })
    : await startFleetServer({ socketPath, transitionMs: Number(second ?? 0) });
if (second !== "--realistic") server.delayMs = Number(third ?? 0);
process.stdout.write("ready\n");
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
