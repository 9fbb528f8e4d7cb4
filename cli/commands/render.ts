// sysconfig render [--check]: re-render every service of the current environment.
import { loadConfig } from "../../reconciler/config/load.js";
import { InvalidInputError } from "../../reconciler/errors.js";
import { findStale, staleDiff } from "../../reconciler/render/compare.js";
import { renderAll } from "../../reconciler/render/render.js";
import { writeRendered } from "../../reconciler/render/write.js";
import type { CliIo } from "../io.js";
import { resolveEnvironment } from "../repo.js";

export interface RenderOptions {
  repo: string;
  environment?: string;
  check?: boolean;
}

export async function runRender(options: RenderOptions, io: CliIo): Promise<void> {
  const config = await loadConfig(options.repo);
  const environment = await resolveEnvironment(options.repo, config, options.environment);
  const files = await renderAll(options.repo, config, environment);
  const stale = await findStale(options.repo, files);
  if (options.check) {
    if (stale.length === 0) {
      io.reporter.info(`rendered/ is current for ${environment} (${files.length} services)`);
      return;
    }
    io.out(stale.map(staleDiff).join(""));
    throw new InvalidInputError(
      `rendered/ is stale for ${environment}: ${stale.map((s) => s.path).join(", ")}. ` +
        `Run 'sysconfig render' and commit the result.`,
    );
  }
  await writeRendered(options.repo, stale);
  for (const file of stale)
    io.reporter.info(`${file.expected === undefined ? "removed" : "wrote"} ${file.path}`);
  io.reporter.info(
    stale.length === 0
      ? `rendered/ already current (${files.length} services)`
      : `rendered ${stale.length} file(s)`,
  );
}
