// bench/bump: 20 concurrent bumps of 20 services into one bare repo — `sysconfig bump` against the seed's
// naive loop (clone, `sed -i` the tag in the rendered file, `git commit`, `git push`), all started at once.
// Results are read back from the remote at the end. Run: node dist/bench/bump.js [jobs]
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { runCli } from "../test/helpers/cli.js";
import { fileAt, manyServicesRemote, serviceNames } from "../test/helpers/config-repos.js";
import { tempDir } from "../test/helpers/tmp.js";

interface Round {
  name: string;
  landed: number;
  lost: number;
  failed: number;
  seconds: number;
  note: string;
}

const jobs = Number(process.argv[2] ?? 20);
const tagOf = (i: number) => `${100 + i}-develop`;

/** Every service whose rendered file on the remote carries its new tag. */
function landedOn(remote: string, names: readonly string[]): Set<string> {
  const landed = new Set<string>();
  for (const [i, name] of names.entries()) {
    if (fileAt(remote, "develop", `rendered/${name}.yaml`).includes(`${name}:${tagOf(i)}"`)) landed.add(name);
  }
  return landed;
}

async function sysconfigRound(root: string): Promise<Round> {
  const remote = await manyServicesRemote(path.join(root, "sysconfig"), jobs);
  const names = serviceNames(jobs);
  const started = performance.now();
  const results = await Promise.all(
    names.map((name, i) => runCli(["bump", name, tagOf(i), "--repo", remote, "--output", "json"])),
  );
  const seconds = (performance.now() - started) / 1000;
  const landed = landedOn(remote, names);
  let lost = 0;
  let failed = 0;
  const attempts: number[] = [];
  for (const [i, result] of results.entries()) {
    const name = names[i] ?? "";
    if (result.code === 0) {
      attempts.push((JSON.parse(result.stdout) as { attempts: number }).attempts);
      if (!landed.has(name)) lost += 1;
    } else if (/push to .* failed/.test(result.stderr)) lost += 1;
    else failed += 1;
  }
  const note = `push attempts: total ${attempts.reduce((a, b) => a + b, 0)}, max ${Math.max(...attempts)}`;
  return { name: "sysconfig bump", landed: landed.size, lost, failed, seconds, note };
}

/** The naive job; exit 10 = the push was rejected. Inputs are argv ($1…), never spliced into the script. */
const NAIVE = `set -e
git clone --quiet --branch develop -- "$1" "$2"
cd "$2"
sed -i "s|$3:1-develop|$3:$4|" "rendered/$3.yaml"
git commit --quiet -am "Updating $3 tag to '$4'"
git push --quiet origin develop || exit 10`;

function naiveJob(remote: string, dir: string, name: string, tag: string): Promise<number> {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "naive",
    GIT_AUTHOR_EMAIL: "naive@localhost",
    GIT_COMMITTER_NAME: "naive",
    GIT_COMMITTER_EMAIL: "naive@localhost",
  };
  return new Promise((resolve) => {
    execFile("bash", ["-c", NAIVE, "naive", remote, dir, name, tag], { env }, (error) => {
      resolve(error ? (typeof error.code === "number" ? error.code : 1) : 0);
    });
  });
}

async function naiveRound(root: string): Promise<Round> {
  const remote = await manyServicesRemote(path.join(root, "naive"), jobs);
  const names = serviceNames(jobs);
  const started = performance.now();
  const codes = await Promise.all(
    names.map((name, i) => naiveJob(remote, path.join(root, "naive", `job-${name}`), name, tagOf(i))),
  );
  const seconds = (performance.now() - started) / 1000;
  const landed = landedOn(remote, names);
  let lost = 0;
  let failed = 0;
  for (const [i, code] of codes.entries()) {
    if ((code === 0 && !landed.has(names[i] ?? "")) || code === 10) lost += 1;
    else if (code !== 0) failed += 1;
  }
  return { name: "naive sed+commit+push", landed: landed.size, lost, failed, seconds, note: "no retry" };
}

async function main(): Promise<void> {
  const { dir, cleanup } = await tempDir("sysconfig-bench-bump-");
  try {
    const rounds = [await sysconfigRound(dir), await naiveRound(dir)];
    console.log(
      `bench/bump: ${jobs} concurrent bumps of ${jobs} services into one bare repo (${os.cpus().length} cores)`,
    );
    console.log(
      `${"".padEnd(24)}${"landed".padStart(8)}${"lost".padStart(6)}${"failed".padStart(8)}${"wall".padStart(10)}`,
    );
    for (const r of rounds) {
      console.log(
        `${r.name.padEnd(24)}${String(r.landed).padStart(8)}${String(r.lost).padStart(6)}` +
          `${String(r.failed).padStart(8)}${`${r.seconds.toFixed(1)} s`.padStart(10)}   ${r.note}`,
      );
    }
    if (rounds[0]?.landed !== jobs) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
