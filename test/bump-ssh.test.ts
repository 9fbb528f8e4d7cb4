// bump over ssh with git's own credentials: GIT_SSH_COMMAND from the environment reaches git untouched
// (simple-git would refuse it by default). Uses the loopback sshd "bastion" from scripts/services.sh.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import path from "node:path";
import { runCli } from "./helpers/cli.js";
import { bareClone, initExample, tagAt } from "./helpers/config-repos.js";
import { tempDir } from "./helpers/tmp.js";

const SSH_DIR = "/var/lib/sysconfig-services/ssh";
const sshCommand = (port?: number) =>
  `ssh -i ${SSH_DIR}/id_ed25519 -o UserKnownHostsFile=${SSH_DIR}/known_hosts -o StrictHostKeyChecking=yes ` +
  `-o BatchMode=yes${port === undefined ? "" : ` -p ${port}`}`;

let root: string;
let remote: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("sysconfig-bump-ssh-"));
  remote = bareClone(await initExample(root), path.join(root, "sysconfig.git"));
});
afterAll(() => cleanup());

describe("bump over ssh (sshd on 127.0.0.1:2222)", () => {
  it("clones and pushes an ssh:// URL with GIT_SSH_COMMAND from the environment", async () => {
    const result = await runCli(
      ["bump", "hello", "80-develop", "--repo", `ssh://root@127.0.0.1:2222${remote}`],
      {
        env: { GIT_SSH_COMMAND: sshCommand() },
      },
    );
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 0,
      stderr: `cloning ssh://root@127.0.0.1:2222${remote} (branch develop)\n`,
    });
    expect(tagAt(remote, "develop", "hello")).toBe("80-develop");
  });

  it("accepts the scp-like form user@host:path", async () => {
    const result = await runCli(["bump", "hello", "81-develop", "--repo", `root@127.0.0.1:${remote}`], {
      env: { GIT_SSH_COMMAND: sshCommand(2222) },
    });
    expect(result.code).toBe(0);
    expect(tagAt(remote, "develop", "hello")).toBe("81-develop");
  });

  it("fails with exit 1 and a readable message when ssh is refused, changing nothing", async () => {
    const result = await runCli(
      [
        "bump",
        "hello",
        "82-develop",
        "--repo",
        `ssh://nobody@127.0.0.1:2222${remote}`,
        "--max-attempts",
        "1",
      ],
      { env: { GIT_SSH_COMMAND: sshCommand() } },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/clone failed: .*Permission denied.*Check the URL/s);
    expect(tagAt(remote, "develop", "hello")).toBe("81-develop");
  });
});
