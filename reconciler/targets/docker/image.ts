// Makes sure a container's image is on the host, pulling it (with registry credentials) if missing.
import type Dockerode from "dockerode";
import { RuntimeFailureError } from "../../errors.js";
import type { Reporter } from "../../report/reporter.js";
import { engineFailure, engineReason, isTransient, statusOf, withRetry } from "./engine-errors.js";
import {
  missingCredentialsHint,
  registryAuthFor,
  registryOf,
  type RegistryAuth,
} from "../../registry/credentials.js";

interface PullEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Tags are immutable (`58-develop`), so an image already present is never pulled again; `present`
 * remembers the images seen during one run, so 50 containers of one image cost one inspect.
 */
export async function ensureImage(
  docker: Dockerode,
  image: string,
  subject: string,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
  present: Set<string> = new Set(),
): Promise<void> {
  if (present.has(image)) return;
  try {
    await withRetry(() => docker.getImage(image).inspect());
    present.add(image);
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
    throw new RuntimeFailureError(
      `${subject} pull ${image} failed: ${engineReason(error)}${hint(image, auth, env)}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
  const failed = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
  if (failed) {
    const reason = (failed.errorDetail?.message ?? failed.error ?? "unknown error").trim();
    throw new RuntimeFailureError(`${subject} pull ${image} failed: ${reason}${hint(image, auth, env)}`);
  }
  present.add(image);
}

function hint(image: string, auth: RegistryAuth | undefined, env: NodeJS.ProcessEnv): string {
  return auth ? "" : ` (${missingCredentialsHint(registryOf(image), env)})`;
}
