// simple-git with the operator's environment. simple-git refuses, by default, environments that carry
// EDITOR, PAGER, GIT_SSH_COMMAND, GIT_ASKPASS, GIT_CONFIG_* …: sensible for a library that may get an
// attacker's env, wrong for a CLI whose env is the operator's own (npm run sets EDITOR; CI sets
// GIT_SSH_COMMAND). What comes from input (URLs, branches, paths) only ever reaches git as argv after `--`,
// and the argv-level guards (--upload-pack, -c protocol.*.allow) stay on.
import { simpleGit, type SimpleGit } from "simple-git";

/** git is killed after this long without output (a hung network transfer). */
const SILENCE_TIMEOUT_MS = 300_000;

export function operatorGit(dir: string, env: Record<string, string | undefined>): SimpleGit {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value;
  return simpleGit({
    baseDir: dir,
    timeout: { block: SILENCE_TIMEOUT_MS },
    unsafe: {
      allowUnsafeSshCommand: true,
      allowUnsafeAskPass: true,
      allowUnsafeConfigEnvCount: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeCredentialHelper: true,
      allowUnsafeGitProxy: true,
      allowUnsafeEditor: true,
      allowUnsafePager: true,
      allowUnsafeTemplateDir: true,
      allowUnsafeDiffExternal: true,
    },
  }).env(clean);
}
