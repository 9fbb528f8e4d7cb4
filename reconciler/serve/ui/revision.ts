// The config revision's commit subject and time for the page's header: from git when serve runs on a
// checkout, from the baked build info (written by sysconfig build) in a config image. Looked up once per revision;
// any failure just leaves the header with the hash alone.
import { readBuildInfo } from "../../desired/build-info.js";

export interface RevisionInfo {
  revision: string;
  subject?: string;
  /** ISO time of the commit (checkout) or of the build (config image). */
  time?: string;
}

export async function revisionInfo(repo: string, revision: string): Promise<RevisionInfo> {
  const commit = revision.replace(/-dirty$/, "");
  if (!/^[0-9a-f]{40}$/.test(commit)) return { revision };
  try {
    const baked = await readBuildInfo(repo);
    if (baked) return { revision, ...(baked.subject ? { subject: baked.subject } : {}), time: baked.created };
    const { simpleGit } = await import("simple-git");
    const out = await simpleGit(repo).raw(["log", "-1", "--format=%s%x00%cI", commit]);
    const [subject, time] = out.trim().split("\0");
    return { revision, ...(subject ? { subject } : {}), ...(time ? { time } : {}) };
  } catch {
    return { revision };
  }
}
