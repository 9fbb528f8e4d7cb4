// fleet API endpoints: `unix:///var/run/fleet.sock` (fleetd's default socket) or `http://host:port`.
import { InvalidInputError } from "../../errors.js";

export const DEFAULT_FLEET_ENDPOINT = "unix:///var/run/fleet.sock";

export type FleetEndpoint =
  | { kind: "unix"; socketPath: string; url: string }
  | { kind: "http"; host: string; port: number; url: string };

/** `from` names where the address came from (--endpoint, SYSCONFIG_ENDPOINT, the config), said when it is invalid. */
export function parseFleetEndpoint(raw: string, from?: string): FleetEndpoint {
  const where = from === undefined ? "" : ` (from ${from})`;
  if (raw.startsWith("unix://")) {
    const socketPath = raw.slice("unix://".length);
    if (!socketPath.startsWith("/")) {
      throw new InvalidInputError(
        `fleet endpoint '${raw}'${where} is invalid: a unix endpoint needs an absolute socket path, e.g. ${DEFAULT_FLEET_ENDPOINT}`,
      );
    }
    return { kind: "unix", socketPath, url: raw };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new InvalidInputError(
      `fleet endpoint '${raw}'${where} is invalid: expected unix:///path/to/fleet.sock or http://host:port`,
      { cause: error },
    );
  }
  if (url.protocol !== "http:" || (url.pathname !== "/" && url.pathname !== "") || url.search !== "") {
    throw new InvalidInputError(
      `fleet endpoint '${raw}'${where} is invalid: expected unix:///path/to/fleet.sock or http://host:port (fleet's API has no TLS; use the SSH tunnel to cross networks)`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { kind: "http", host, port: url.port === "" ? 80 : Number(url.port), url: raw };
}
