// build.json: what `sysconfig build` bakes next to the config so the reconciler knows which
// commit, branch and environment it carries.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { InvalidInputError, reasonOf } from "../errors.js";

export const BUILD_INFO_FILE = ".sysconfig-build.json";
/** Where the config image bakes the config repo. */
export const BAKED_CONFIG_DIR = "/sysconfig/config";

export const buildInfoSchema = z.strictObject({
  system: z.string(),
  environment: z.string(),
  branch: z.string(),
  revision: z.string().regex(/^[0-9a-f]{40}$/),
  source: z.string(),
  created: z.string(),
});
export type BuildInfo = z.infer<typeof buildInfoSchema>;

/** The baked build info, or undefined when `dir` is a plain checkout. */
export async function readBuildInfo(dir: string): Promise<BuildInfo | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, BUILD_INFO_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    return buildInfoSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new InvalidInputError(`${path.join(dir, BUILD_INFO_FILE)} is corrupt: ${reasonOf(error)}`, {
      cause: error,
    });
  }
}
