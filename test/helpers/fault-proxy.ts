// A loopback HTTPS proxy in front of the real kube-apiserver that injects faults on chosen requests:
// an HTTP status (5xx, 429 with Retry-After), latency, a connection dropped before the request reaches
// the apiserver, or one dropped after the apiserver has done the work (the response is lost).
// It terminates TLS with the apiserver's own serving certificate (SAN 127.0.0.1, signed by the test
// CA), so clients verify it exactly as they verify the apiserver. Every request is logged.
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { KUBE } from "./kube.js";

export type Fault =
  | { kind: "status"; status: number; retryAfterSeconds?: number; message?: string }
  | { kind: "delay"; ms: number }
  | { kind: "drop-request" }
  | { kind: "drop-response" };

export interface FaultRule {
  /** Requests the rule applies to; every request when absent. */
  method?: string;
  /** Matched against the request's path and query. */
  path?: RegExp;
  /** How many matching requests get the fault (default: all of them). */
  times?: number;
  fault: Fault;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The status the client saw; undefined when its connection was dropped. */
  status?: number;
  fault?: Fault["kind"];
}

export interface FaultProxy {
  /** https://127.0.0.1:PORT — use with the test CA and any token the apiserver accepts. */
  url: string;
  /** Adds a rule; the first rule that matches and has not used up `times` applies. */
  inject(rule: FaultRule): void;
  clear(): void;
  /** Every request seen, in arrival order. */
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

interface ActiveRule extends FaultRule {
  left: number;
}

function statusBody(status: number, message: string): string {
  // The shape of the apiserver's own errors (a metav1.Status), so clients parse it as they would.
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    code: status,
  });
}

export async function startFaultProxy(upstream = KUBE.server): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new https.Agent({ keepAlive: true, ca: readFileSync(KUBE.caFile) });
  const rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];

  function takeFault(req: IncomingMessage): Fault | undefined {
    const rule = rules.find(
      (r) =>
        r.left > 0 &&
        (r.method === undefined || r.method.toUpperCase() === req.method) &&
        (r.path === undefined || r.path.test(req.url ?? "")),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    return rule.fault;
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    entry: ProxiedRequest,
    dropResponse: boolean,
  ): void {
    const upstreamReq = https.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        if (dropResponse) {
          // The apiserver has done the work; the client never learns the outcome.
          upstreamRes.resume();
          upstreamRes.once("end", () => req.socket.destroy());
          return;
        }
        entry.status = upstreamRes.statusCode;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.once("error", (error) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(statusBody(502, `fault proxy: upstream ${upstream} failed: ${error.message}`));
    });
    res.once("close", () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const entry: ProxiedRequest = { method: req.method ?? "GET", path: req.url ?? "/" };
    requests.push(entry);
    const fault = takeFault(req);
    if (fault) entry.fault = fault.kind;
    switch (fault?.kind) {
      case undefined:
        return forward(req, res, entry, false);
      case "status": {
        entry.status = fault.status;
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
        req.resume();
        res.writeHead(fault.status, headers);
        res.end(statusBody(fault.status, fault.message ?? `fault proxy: injected HTTP ${fault.status}`));
        return;
      }
      case "delay": {
        const timer = setTimeout(() => forward(req, res, entry, false), fault.ms);
        res.once("close", () => clearTimeout(timer));
        return;
      }
      case "drop-request":
        req.socket.destroy();
        return;
      case "drop-response":
        return forward(req, res, entry, true);
    }
  }

  const server = https.createServer(
    { cert: readFileSync(KUBE.serverCertFile), key: readFileSync(KUBE.serverKeyFile) },
    handle,
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    inject: (rule) => rules.push({ ...rule, left: rule.times ?? Number.POSITIVE_INFINITY }),
    clear: () => rules.splice(0),
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
