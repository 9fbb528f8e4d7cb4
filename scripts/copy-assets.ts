// Part of `npm run build`: tsc emits only .ts files, so the web page's static assets (its script and
// stylesheet, beside the code that serves them) are copied into dist/ here.
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(import.meta.filename), "..");
const DIRS = ["reconciler/serve/ui/assets"];

for (const dir of DIRS) {
  const from = path.join(root, dir);
  const to = path.join(root, "dist", dir);
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
}
