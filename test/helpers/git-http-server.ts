// A smart-HTTP git server on 127.0.0.1 (git http-backend behind node:http, as CGI) that requires HTTP
// basic auth: lets tests push with a token in the URL, the way CI does against a Git host.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface GitHttpServer {
  /** http://USER:TOKEN@127.0.0.1:PORT/ — append the repo's path relative to the project root. */
  url(user: string, token: string): string;
  /** Requests seen, and how many were refused for bad credentials. */
  stats: { requests: number; unauthorized: number };
  close(): Promise<void>;
}

export async function startGitHttpServer(
  projectRoot: string,
  user: string,
  token: string,
): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}`;
  const stats = { requests: 0, unauthorized: 0 };
  const server = http.createServer((req, res) => {
    stats.requests += 1;
    if (req.headers.authorization !== expected) {
      stats.unauthorized += 1;
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end("unauthorized\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const cgi: ChildProcessWithoutNullStreams = spawn("git", ["http-backend"], {
      stdio: "pipe",
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        REMOTE_USER: user,
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ""),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (u, t) => `http://${u}:${t}@127.0.0.1:${port}/`,
    stats,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
