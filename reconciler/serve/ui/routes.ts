// The page's routes on serve's listener: GET / (the page), GET /events (live updates), the page's
// script and stylesheet, and POST /login (only meaningful with --ui-token-file). `protect` puts the
// same token check in front of another route (/status).
import type http from "node:http";
import type { Handler, Reply, Route } from "../http-server.js";
import { json } from "../http-server.js";
import { readBody } from "../request-body.js";
import { ASSET_PATHS, loadAssets } from "./assets.js";
import type { UiAuth } from "./auth.js";
import type { EventStream } from "./event-stream.js";
import { PAGE_HEADERS } from "./headers.js";
import { renderLogin } from "./login-page.js";
import { pageRenderer, type PageSource } from "./page.js";

const HTML = "text/html; charset=utf-8";
const LOGIN_BODY_BYTES = 4096;

function page(status: number, body: string | Buffer, headers: Record<string, string> = {}): Reply {
  return { status, body, contentType: HTML, headers: { ...PAGE_HEADERS, ...headers } };
}

const wantsHtml = (req: http.IncomingMessage) => (req.headers.accept ?? "").includes("text/html");

/** 401 in the form the client reads: the login form for a browser, JSON for anything else. */
function unauthorized(req: http.IncomingMessage): Reply {
  const challenge = { "www-authenticate": 'Bearer realm="sysconfig serve"' };
  if (wantsHtml(req)) return page(401, renderLogin(undefined), challenge);
  return json(
    401,
    { error: "this endpoint needs the token of --ui-token-file (Authorization: Bearer TOKEN)" },
    challenge,
  );
}

export function protect(auth: UiAuth, handle: Handler): Handler {
  return (req) => (auth.allows(req) ? handle(req) : unauthorized(req));
}

export function uiRoutes(source: PageSource, events: EventStream, auth: UiAuth): Record<string, Route> {
  const assets = loadAssets();
  const render = pageRenderer(source);
  const routes: Record<string, Route> = {
    "/": { method: "GET", handle: protect(auth, () => page(200, render())) },
    "/events": {
      method: "GET",
      handle: protect(auth, () =>
        events.full
          ? json(503, { error: "too many open pages; close one and reload" }, { "retry-after": "30" })
          : {
              status: 200,
              body: "",
              headers: {
                ...PAGE_HEADERS,
                "content-type": "text/event-stream; charset=utf-8",
                "x-accel-buffering": "no",
              },
              stream: (res) => events.attach(res),
            },
      ),
    },
    "/login": {
      method: "POST",
      handle: async (req) => {
        if (!auth.required) return { status: 303, body: "", contentType: HTML, headers: { location: "/" } };
        const read = await readBody(req, LOGIN_BODY_BYTES);
        const token = read.ok ? new URLSearchParams(read.body.toString("utf8")).get("token") : null;
        if (token === null || !auth.matches(token.trim())) {
          return page(401, renderLogin("That is not the token serve was started with."));
        }
        return {
          status: 303,
          body: "",
          contentType: HTML,
          headers: { ...PAGE_HEADERS, location: "/", "set-cookie": auth.cookie() },
        };
      },
    },
  };
  for (const path of ASSET_PATHS) {
    const asset = assets[path];
    routes[path] = {
      method: "GET",
      handle: (req) =>
        req.headers["if-none-match"] === asset.etag
          ? { status: 304, body: "", contentType: asset.contentType, headers: { etag: asset.etag } }
          : {
              status: 200,
              body: asset.body,
              contentType: asset.contentType,
              headers: { ...PAGE_HEADERS, etag: asset.etag, "cache-control": "no-cache" },
            },
    };
  }
  return routes;
}
