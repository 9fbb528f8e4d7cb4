// Makes sure a container's image is on the host, pulling it (with registry credentials) if missing.
import type Dockerode from "dockerode";
import { RuntimeFailureError } from "../../errors.js";
import type { Reporter } from "../../report/reporter.js";
import { engineFailure, statusOf, withRetry } from "./engine-errors.js";
import { registryAuthFor } from "./registry-auth.js";

interface PullEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Tags are immutable (`58-develop`), so an image already present is never pulled again. */
export async function ensureImage(
  docker: Dockerode,
  image: string,
  subject: string,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
): Promise<void> {
  try {
    await withRetry(() => docker.getImage(image).inspect());
    return;
  } catch (error) {
    if (statusOf(error) !== 404) throw engineFailure(subject, `image inspect ${image}`, error);
  }
  reporter.info(`${subject}: pulling ${image}`);
  const auth = await registryAuthFor(image, env);
  let events: PullEvent[];
  try {
    events = await withRetry(async () => {
      const stream = await docker.pull(image, auth ? { authconfig: auth } : {});
      return await new Promise<PullEvent[]>((resolve, reject) => {
        docker.modem.followProgress(stream, (err: Error | null, output: PullEvent[]) =>
          err ? reject(err) : resolve(output),
        );
      });
    });
  } catch (error) {
    throw engineFailure(subject, `pull ${image}`, error);
  }
  const failed = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
  if (failed) {
    const reason = failed.errorDetail?.message ?? failed.error ?? "unknown error";
    throw new RuntimeFailureError(
      `${subject} pull ${image} failed: ${reason}${auth ? "" : " (no registry credentials were found for it)"}`,
    );
  }
}
