// serve's HTTP surface: a fixed table of routes, 404 for any other path, 405 (with Allow) for a wrong
// method. Handlers live in their own files; this file only listens, routes and answers.
// A route matches the request's raw path exactly: nothing is decoded or normalised, so `/hooks/../status`,
// `/hooks/%2e%2e/metrics` or `//status` are no route at all (404), never another route that operators keep
// internal while exposing /hooks/. HEAD on a GET route answers as GET does, without the body.
import type { ServerResponse, IncomingMessage } from "node:http";
import { http } from "../node-http.js";
import type { AddressInfo } from "node:net";
import { RuntimeFailureError, reasonOf } from "../errors.js";

export interface Reply {
  status: number;
  /** JSON-encoded unless `contentType` says otherwise (then a string). */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** A streaming answer (the page's /events): gets the response after the head is written, and ends it. */
  stream?: (res: ServerResponse) => void;
}

export type Handler = (req: IncomingMessage) => Promise<Reply> | Reply;

export interface Route {
  method: "GET" | "POST";
  handle: Handler;
  /** Called with 405 replies, e.g. to count refused webhook calls. */
  onWrongMethod?: () => void;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface HttpServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: ListenAddress;
  /** Stops accepting connections, ends idle keep-alive ones, and resolves when all are closed. */
  close(): Promise<void>;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return headers === undefined ? { status, body } : { status, body, headers };
}

export async function startHttpServer(
  listen: ListenAddress,
  routes: Record<string, Route>,
  onError: (error: unknown) => void,
): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    void answer(req, routes)
      .catch((error: unknown): Reply => {
        onError(error);
        return json(500, { error: "internal error; see serve's log" });
      })
      .then((reply) => send(res, reply));
  });
  // A client that dribbles its headers or body cannot hold a connection for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new RuntimeFailureError(
          `serve listen on ${listen.host}:${listen.port} failed: ${reasonOf(error)}. Pick a free address with --listen HOST:PORT.`,
          { cause: error },
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** The request target's path as sent, up to any query: no URL parsing (which resolves `..` and `%2e%2e`). */
export function rawPath(target: string | undefined): string {
  const raw = target ?? "";
  const end = raw.search(/[?#]/);
  return end < 0 ? raw : raw.slice(0, end);
}

/** The methods a route answers: a GET route answers HEAD too. */
function methodsOf(route: Route): string[] {
  return route.method === "GET" ? ["GET", "HEAD"] : [route.method];
}

async function answer(req: IncomingMessage, routes: Record<string, Route>): Promise<Reply> {
  const path = rawPath(req.url);
  const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (route === undefined) {
    req.resume();
    return json(404, { error: `no such path ${path}; serve answers ${Object.keys(routes).join(", ")}` });
  }
  const methods = methodsOf(route);
  if (!methods.includes(req.method ?? "")) {
    req.resume();
    route.onWrongMethod?.();
    return json(405, { error: `${path} takes ${methods.join(" or ")} only` }, { allow: methods.join(", ") });
  }
  return route.handle(req);
}

function send(res: ServerResponse, reply: Reply): void {
  if (reply.stream !== undefined) {
    res.writeHead(reply.status, { "cache-control": "no-store", ...reply.headers });
    reply.stream(res);
    return;
  }
  // A Buffer body goes out as it is: the page, encoded once, is sent to every open page from one buffer.
  const text = Buffer.isBuffer(reply.body)
    ? reply.body
    : reply.contentType === undefined
      ? `${JSON.stringify(reply.body, null, 2)}\n`
      : String(reply.body);
  res.writeHead(reply.status, {
    "content-type": reply.contentType ?? "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...reply.headers,
  });
  // For HEAD, Node sends the headers (the same length as GET's) and no body.
  res.end(text);
}
