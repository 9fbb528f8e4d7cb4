// sysconfig init DIR: a new config repo from sysconfig-example, one branch per environment,
// each with its rendered/ committed and current.
import { cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { CONFIG_FILE, loadConfig } from "../../reconciler/config/load.js";
import { InvalidInputError } from "../../reconciler/errors.js";
import { findStale } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { projectRoot, RENDERED_DIR } from "../../reconciler/render/templates.js";
import { writeRendered } from "../../reconciler/render/write.js";
import { gitIdentityEnv } from "../git/identity.js";
import { operatorGit } from "../git/operator-git.js";
import type { CliIo } from "../io.js";

export interface InitOptions {
  dir: string;
}

async function assertEmpty(dir: string): Promise<void> {
  try {
    const entries = await readdir(dir);
    if (entries.length > 0) {
      throw new InvalidInputError(`${dir} is not empty: init only scaffolds into a new or empty directory.`);
    }
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
  }
}

/** Points every service's tag at this environment's branch: 1-develop becomes 1-master on master. */
async function retagForBranch(dir: string, branch: string): Promise<void> {
  const file = path.join(dir, CONFIG_FILE);
  const doc = parseDocument(await readFile(file, "utf8"));
  const services = doc.toJS() as { services: Record<string, { tag: string }> };
  for (const [name, service] of Object.entries(services.services)) {
    const build = service.tag.split("-")[0] ?? "1";
    doc.setIn(["services", name, "tag"], `${build}-${branch.replace(/[^A-Za-z0-9_.-]/g, "-")}`);
  }
  await writeFile(file, doc.toString());
}

export async function runInit(options: InitOptions, io: CliIo): Promise<void> {
  const dir = path.resolve(io.cwd, options.dir);
  await assertEmpty(dir);
  await mkdir(dir, { recursive: true });
  const example = path.join(projectRoot(), "sysconfig-example");
  await cp(example, dir, {
    recursive: true,
    filter: (src) => !src.startsWith(path.join(example, RENDERED_DIR)),
  });
  const config = await loadConfig(dir);
  const environments = Object.keys(config.environments);
  const git = operatorGit(dir, { ...io.env, ...gitIdentityEnv(io.env) });
  const first = environments[0] ?? "develop";
  await git.init(["--initial-branch", first]);
  await git.add(".");
  await git.commit("Initial config from sysconfig-example");
  const base = (await git.revparse(["HEAD"])).trim();
  for (const environment of environments) {
    if (environment !== first) await git.checkout(["-b", environment, base]);
    await retagForBranch(dir, environment);
    const envConfig = await loadConfig(dir);
    await writeRendered(dir, await findStale(dir, await renderAll(dir, envConfig, environment)));
    await git.add(".");
    await git.commit(`Render ${environment} (${config.environments[environment]?.target.kind ?? "docker"})`);
    io.reporter.info(`branch ${environment}: rendered for ${config.environments[environment]?.target.kind}`);
  }
  await git.checkout(first);
  io.out(`initialised config repo ${dir} with branches ${environments.join(", ")} (on ${first})`);
}
