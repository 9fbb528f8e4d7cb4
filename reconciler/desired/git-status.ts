// What a checkout says about itself, in one git call (it was four: is-repo, HEAD, branch, status; each
// git process costs ~10 ms of CPU, and simple-git ~0.07 s to load): `git status --porcelain=v2 --branch`.
import { execFile } from "node:child_process";

export interface CheckoutStatus {
  /** HEAD's commit; undefined in a repository without commits. */
  revision: string | undefined;
  /** The checked-out branch; undefined on a detached HEAD. */
  branch: string | undefined;
  /** Every path git reports as modified, added, deleted, renamed (its new name) or untracked. */
  changed: string[];
}

/** The checkout's status, or undefined when `dir` is not in a git work tree (or git cannot tell). */
export function checkoutStatus(dir: string): Promise<CheckoutStatus | undefined> {
  const args = ["status", "--porcelain=v2", "--branch", "--untracked-files=all", "-z"];
  return new Promise((resolve) => {
    execFile("git", args, { cwd: dir, maxBuffer: 256 * 1024 * 1024 }, (error, stdout) => {
      resolve(error ? undefined : parsePorcelainV2(stdout));
    });
  });
}

/** Parses `git status --porcelain=v2 --branch -z` output. */
export function parsePorcelainV2(output: string): CheckoutStatus {
  const status: CheckoutStatus = { revision: undefined, branch: undefined, changed: [] };
  const records = output.split("\0");
  for (let i = 0; i < records.length; i++) {
    const record = records[i] ?? "";
    if (record.startsWith("# branch.oid ")) {
      const oid = record.slice("# branch.oid ".length);
      status.revision = oid === "(initial)" ? undefined : oid;
    } else if (record.startsWith("# branch.head ")) {
      const head = record.slice("# branch.head ".length);
      status.branch = head === "(detached)" ? undefined : head;
    } else if (record.startsWith("1 ")) {
      status.changed.push(field(record, 8));
    } else if (record.startsWith("2 ")) {
      // a rename or copy: its new path here, the original in the next record (skipped)
      status.changed.push(field(record, 9));
      i++;
    } else if (record.startsWith("u ")) {
      status.changed.push(field(record, 10));
    } else if (record.startsWith("? ")) {
      status.changed.push(record.slice(2));
    }
  }
  return status;
}

/** The rest of `record` after its first `n` space-separated fields (paths may hold spaces). */
function field(record: string, n: number): string {
  let at = 0;
  for (let k = 0; k < n; k++) at = record.indexOf(" ", at) + 1;
  return record.slice(at);
}
