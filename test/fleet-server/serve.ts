// Runs the fake fleetd as its own process (for benchmarks, so its memory is not counted as the
// reconciler's): node dist/test/fleet-server/serve.js SOCKET_PATH [transitionMs] [delayMs per request].
// Prints "ready".
import { startFleetServer } from "./fleet-server.js";

const [socketPath, transition, delay] = process.argv.slice(2);
if (!socketPath) {
  process.stderr.write("usage: serve.js SOCKET_PATH [transitionMs] [delayMs]\n");
  process.exit(2);
}
const server = await startFleetServer({ socketPath, transitionMs: Number(transition ?? 0) });
server.delayMs = Number(delay ?? 0);
process.stdout.write("ready\n");
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
