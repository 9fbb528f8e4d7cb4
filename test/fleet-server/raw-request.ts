// Plain HTTP requests to the fake fleetd (unix:// or http:// endpoint), independent of the product client.
import http from "node:http";

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

export function rawRequest(
  endpoint: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" },
): Promise<RawReply> {
  const target = endpoint.startsWith("unix://")
    ? { socketPath: endpoint.slice("unix://".length) }
    : { host: new URL(endpoint).hostname, port: Number(new URL(endpoint).port) };
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, method, path, headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => {
        let json: unknown;
        try {
          json = text === "" ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}
