// Who commits: the environment's git identity, defaulting to a bot (DESIGN §4).
export const BOT_NAME = "sysconfig-bot";
export const BOT_EMAIL = "sysconfig-bot@localhost";

export function gitIdentityEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const name = env.GIT_AUTHOR_NAME ?? env.GIT_COMMITTER_NAME ?? BOT_NAME;
  const email = env.GIT_AUTHOR_EMAIL ?? env.GIT_COMMITTER_EMAIL ?? BOT_EMAIL;
  return {
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: env.GIT_COMMITTER_NAME ?? name,
    GIT_COMMITTER_EMAIL: env.GIT_COMMITTER_EMAIL ?? email,
  };
}
