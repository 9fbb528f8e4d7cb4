// Pushes every reference of the config image. Credentials are checked with the registry before
// anything is pushed, and immutable tags go first, so a failure never leaves the moving tag half-done.
import type Docker from "dockerode";
import { RuntimeFailureError } from "../../reconciler/errors.js";
import { engineError, followStream, StreamError } from "./docker-engine.js";
import type { Progress } from "./progress.js";
import type { RegistryCredentials } from "../../reconciler/registry/credentials.js";

function authHint(registry: string): string {
  return (
    ` Check the credentials for ${registry}: 'docker login ${registry}' (~/.docker/config.json or DOCKER_CONFIG) ` +
    `or SYSCONFIG_REGISTRY=${registry} with SYSCONFIG_REGISTRY_USERNAME + SYSCONFIG_REGISTRY_PASSWORD_FILE.`
  );
}

/** Logs in through the engine (POST /auth) without pushing anything. */
export async function checkCredentials(
  docker: Docker,
  registry: string,
  credentials: RegistryCredentials,
): Promise<void> {
  try {
    await docker.checkAuth({
      username: credentials.username,
      password: credentials.password,
      serveraddress: credentials.serveraddress,
    });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const reason = (error as { json?: { message?: string } }).json?.message ?? "";
    // The engine answers a refused login with 401, or with 500 quoting the registry's 401.
    if (status === 401 || status === 403 || /\b40[13]\b|unauthorized|denied/i.test(reason)) {
      throw new RuntimeFailureError(
        `registry ${registry} login as '${credentials.username}' (from ${credentials.from}) failed: ${reason.trim() || "unauthorized"}. Nothing was pushed.${authHint(registry)}`,
        { cause: error },
      );
    }
    throw engineError(`registry ${registry} login`, error);
  }
}

/**
 * Pushes `references` in order; returns reference → manifest digest. On a shared engine another build may
 * re-tag a reference meanwhile: each is checked to still be `imageId` right before it is pushed.
 */
export async function pushReferences(
  docker: Docker,
  registry: string,
  references: readonly string[],
  credentials: RegistryCredentials | undefined,
  progress: Progress,
  imageId: string,
  /** Pushed earlier by the same build, for the failure messages. */
  alreadyPushed: readonly string[] = [],
): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  const authconfig =
    credentials === undefined
      ? {}
      : {
          username: credentials.username,
          password: credentials.password,
          serveraddress: credentials.serveraddress,
        };
  for (const reference of references) {
    const pushedSoFar = [...alreadyPushed, ...Object.keys(digests)];
    const already =
      pushedSoFar.length === 0 ? " Nothing was pushed." : ` Already pushed: ${pushedSoFar.join(", ")}.`;
    await checkStillOurs(docker, reference, imageId, already);
    progress.line(`push: ${reference}`);
    try {
      const stream = await docker.getImage(reference).push({ authconfig });
      const events = await followStream(stream, (event) => progress.event("push", event));
      const digest = events.map((e) => e.aux?.Digest).findLast((d) => d !== undefined);
      if (digest === undefined) {
        throw new RuntimeFailureError(
          `push of ${reference} failed: the registry reported no digest.${already}`,
        );
      }
      digests[reference] = digest;
    } catch (error) {
      if (error instanceof RuntimeFailureError) throw error;
      const message = error instanceof StreamError ? error.message.trim() : undefined;
      const unauthorized =
        message !== undefined &&
        /unauthorized|authentication required|denied|no basic auth credentials/i.test(message);
      if (message !== undefined) {
        throw new RuntimeFailureError(
          `push of ${reference} failed: ${message}.${already}${unauthorized ? authHint(registry) : ""}`,
          { cause: error },
        );
      }
      throw engineError(`push of ${reference}`, error, already);
    } finally {
      progress.end();
    }
  }
  return digests;
}

/** Refuses to push `reference` when it no longer names the image this build made. */
async function checkStillOurs(
  docker: Docker,
  reference: string,
  imageId: string,
  already: string,
): Promise<void> {
  let current: string;
  try {
    current = (await docker.getImage(reference).inspect()).Id;
  } catch (error) {
    throw engineError(`image ${reference} lookup before its push`, error, already);
  }
  if (current !== imageId) {
    throw new RuntimeFailureError(
      `push of ${reference} failed: the engine's ${reference} is now ${current.slice(0, 19)}, not the image this ` +
        `build made (${imageId.slice(0, 19)}); another build on the same engine re-tagged it. Run the build again ` +
        `(or give concurrent builds their own engine).${already}`,
    );
  }
}
