// A loopback TCP server that accepts every connection and never sends a byte: the server that hangs every
// client without a bound (a stuck git host, a wedged Docker engine or fleetd, a firewall that swallows SSH).
import net from "node:net";

export interface BlackHole {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections still open (the client has not closed them). */
  open(): number;
  /** Resolves when no connection is open any more, or after `ms` (then returns the count still open). */
  drained(ms: number): Promise<number>;
  close(): Promise<void>;
}

export async function startBlackHole(host = "127.0.0.1"): Promise<BlackHole> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    // Read and drop what the client sends; never answer.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    accepted: () => accepted,
    open: () => sockets.size,
    async drained(ms) {
      const until = Date.now() + ms;
      while (sockets.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      return sockets.size;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
