// node:http and node:https through require(): an ES `import` of either builds the module's ES facade, which
// reads every export, the lazy ones too (fetch's classes, WebSocket), and so loads Node's bundled undici:
// ~0.15 s of CPU and ~13 MB of RSS on every fleet and Docker run, for nothing sysconfig uses.
// `import type` of their types costs nothing and stays as it is.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export const http = require("node:http") as typeof import("node:http");
export const https = require("node:https") as typeof import("node:https");
