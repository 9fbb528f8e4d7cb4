// `npm run image`: builds this version's reconciler image on the local engine from the project's
// Dockerfile. NODE_IMAGE picks the base (default node:24-slim, else the local sysconfig-base/node:24).
import { ExitCode, exitCodeOf, reasonOf } from "../reconciler/errors.js";
import { booleanWord } from "./boolean-word.js";
import { dockerClient } from "./images/docker-engine.js";
import { createProgress } from "./images/progress.js";
import { buildReconcilerImage } from "./images/reconciler-image.js";
import { processIo } from "./io.js";

async function main(): Promise<number> {
  const io = processIo(booleanWord(process.env.SYSCONFIG_VERBOSE ?? "") === true);
  const progress = createProgress({
    tty: process.stderr.isTTY === true,
    write: (text) => process.stderr.write(text),
    reporter: io.reporter,
  });
  try {
    const epoch = process.env.SOURCE_DATE_EPOCH;
    const result = await buildReconcilerImage(dockerClient(process.env), {
      nodeImage: process.env.NODE_IMAGE || undefined,
      reference: process.env.SYSCONFIG_RECONCILER_IMAGE || undefined,
      sourceDateEpoch: epoch === undefined ? undefined : Number(epoch),
      progress,
    });
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    io.out(
      `built ${result.reference} (${result.imageId.slice(0, 19)}) FROM ${result.nodeImage}: ` +
        `${mb(result.size)}, ${mb(result.size - result.baseSize)} over the base (${mb(result.baseSize)})`,
    );
    return ExitCode.ok;
  } catch (error) {
    process.stderr.write(`sysconfig image: ${reasonOf(error)}\n`);
    return exitCodeOf(error);
  }
}

process.exitCode = await main();
