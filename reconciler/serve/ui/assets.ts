// The page's own script and stylesheet, read once at start from assets/ beside this file (the build
// copies them into dist/ and beside the CLI's bundle; the reconciler image ships them). Nothing is fetched from anywhere else.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InternalError, reasonOf } from "../../errors.js";

export interface Asset {
  body: string;
  contentType: string;
  etag: string;
}

const FILES = {
  "/ui/app.js": { file: "app.js", contentType: "text/javascript; charset=utf-8" },
  "/ui/app.css": { file: "app.css", contentType: "text/css; charset=utf-8" },
} as const;

export type AssetPath = keyof typeof FILES;
export const ASSET_PATHS = Object.keys(FILES) as AssetPath[];

export function loadAssets(dir = new URL("./assets/", import.meta.url)): Record<AssetPath, Asset> {
  const out: Partial<Record<AssetPath, Asset>> = {};
  for (const route of ASSET_PATHS) {
    const { file, contentType } = FILES[route];
    const location = fileURLToPath(new URL(file, dir));
    let body: string;
    try {
      body = readFileSync(location, "utf8");
    } catch (error) {
      throw new InternalError(
        `serve's web page asset ${location} is missing (${reasonOf(error)}): this sysconfig was built without ` +
          `its assets. Build with 'npm run build', which copies reconciler/serve/ui/assets/ into dist/.`,
        { cause: error },
      );
    }
    const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
    out[route] = { body, contentType, etag };
  }
  return out as Record<AssetPath, Asset>;
}
