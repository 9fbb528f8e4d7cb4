#!/usr/bin/env -S node --max-semi-space-size=4
// The flag is the config image's (cli/images/node-flags.ts): 4 MB young-generation semi-spaces keep a
// 1,000-object run ~25 MB smaller, at no measurable cost in time. env -S splits the line (GNU and BSD env).
// The sysconfig binary. Turns on V8's compile cache (Node 22.1+) before anything else loads: a run then
// reuses the compiled code of sysconfig's and its dependencies' modules (kept in NODE_COMPILE_CACHE, else
// the system's temporary directory; the reconciler image ships it warm) instead of compiling them again.
// The cache is an optimisation only: when its directory cannot be written, Node runs without it.
// The rest of the CLI is loaded from its bundle (scripts/bundle.ts, part of `npm run build`): run.js and
// everything it imports, in a few files instead of ~250 modules.
import { enableCompileCache } from "node:module";

enableCompileCache();
// A name in a variable: tsc would look for the bundle, which exists only once the build has made it.
const bundle = "./bundle/run.js";
const { main } = (await import(bundle)) as typeof import("./run.js");
process.exitCode = await main(process.argv);
