// build.json: what `sysconfig build` bakes next to the config so the reconciler knows which
// commit, branch and environment it carries.
import path from "node:path";
import * as z from "zod/mini";
import "../config/zod-setup.js";
import { InvalidInputError, reasonOf } from "../errors.js";
import { readRepoText } from "../repo-files.js";

export const BUILD_INFO_FILE = ".sysconfig-build.json";
/** Where the config image bakes the config repo. */
export const BAKED_CONFIG_DIR = "/sysconfig/config";

export const buildInfoSchema = z.strictObject({
  system: z.string(),
  environment: z.string(),
  branch: z.string(),
  revision: z.string().check(z.regex(/^[0-9a-f]{40}$/)),
  source: z.string(),
  created: z.string(),
  /** The commit's subject, for serve's page (absent in images built before it was baked). */
  subject: z.optional(z.string()),
});
export type BuildInfo = z.infer<typeof buildInfoSchema>;

/** The baked build info, or undefined when `dir` is a plain checkout. */
export async function readBuildInfo(dir: string): Promise<BuildInfo | undefined> {
  // Like every file of the repo's content, it must stay inside the repo (a committed symlink to a file
  // elsewhere would otherwise be read, and JSON's error quotes what it read).
  const text = await readRepoText(dir, BUILD_INFO_FILE);
  if (text === undefined) return undefined;
  try {
    return buildInfoSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new InvalidInputError(`${path.join(dir, BUILD_INFO_FILE)} is corrupt: ${reasonOf(error)}`, {
      cause: error,
    });
  }
}
