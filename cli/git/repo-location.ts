// Classifies --repo: a remote to clone (any git URL, or a path to a bare repo) or a local working checkout.
import { stat } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../reconciler/errors.js";

export type RepoLocation =
  | {
      kind: "remote";
      url: string;
      /** a local path or file:// URL: no network, no shallow clone */ local: boolean;
    }
  | { kind: "checkout"; dir: string };

const SCHEMES = new Set(["file", "ssh", "git", "http", "https", "git+ssh", "ssh+git"]);

/** What git itself treats as a URL: scheme://…, or scp-like [user@]host:path (a ':' before any '/'). */
/** `scheme://…` or scp-like `host:path` (a colon before any slash). */
export function looksLikeUrl(repo: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) return true;
  const colon = repo.indexOf(":");
  const slash = repo.indexOf("/");
  return colon > 0 && (slash < 0 || colon < slash);
}

export async function locateRepo(
  repo: string,
  cwd: string,
  isBare: (dir: string) => Promise<boolean | undefined>,
): Promise<RepoLocation> {
  if (repo.startsWith("-") || /[\p{Cc}]/u.test(repo)) {
    throw new InvalidInputError(
      `--repo bump failed: ${JSON.stringify(repo)} is neither a path nor a git URL (it starts with '-' or holds ` +
        `control characters). Pass a path, or a URL such as git@host:acme/sysconfig.git. Nothing was changed.`,
    );
  }
  // git reads <transport>::<address> only as a prefix (its scheme characters, then "::"); a "::" further on is
  // part of an IPv6 address (https://[::1]:8443/x.git, git@[fe80::1]:x.git), which git connects to normally.
  if (/^[A-Za-z0-9+.-]*::/.test(repo)) {
    throw new InvalidInputError(
      `--repo bump failed: git remote-helper addresses (<transport>::<address>, e.g. ext::) are refused because ` +
        `they can run commands. Use an ssh, https, git or file URL, or a path. Nothing was changed.`,
    );
  }
  if (looksLikeUrl(repo)) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(repo)?.[1]?.toLowerCase();
    if (scheme !== undefined && !SCHEMES.has(scheme)) {
      throw new InvalidInputError(
        `--repo bump failed: URL scheme '${scheme}' is not a git transport sysconfig uses. Use ssh://, https://, ` +
          `git://, file:// or git@host:path. Nothing was changed.`,
      );
    }
    return { kind: "remote", url: repo, local: scheme === "file" };
  }
  const dir = path.resolve(cwd, repo);
  const isDirectory = await stat(dir).then(
    (s) => (s.isDirectory() ? true : "it is a file, not a directory"),
    () => "no such directory",
  );
  if (isDirectory !== true) {
    throw new InvalidInputError(
      `--repo ${dir} bump failed: ${isDirectory}. Pass the config repo's path or its git URL. Nothing was changed.`,
    );
  }
  const bare = await isBare(dir);
  if (bare === undefined) {
    throw new InvalidInputError(
      `--repo ${dir} bump failed: not a git repository. Pass a config repo (sysconfig init DIR makes one) or its URL. ` +
        `Nothing was changed.`,
    );
  }
  return bare ? { kind: "remote", url: dir, local: true } : { kind: "checkout", dir };
}
