// The unified diff of an update: live text → desired text, secrets masked before anything is compared and
// control characters (a hand-edited label, say) made visible.
import { createTwoFilesPatch } from "../text/two-files-patch.js";
import type { Change } from "../model.js";
import { escapeForTerminal } from "../text/escape.js";
import { maskSecrets } from "../text/mask.js";

/**
 * The note for an update whose content changed only where the plan masks (a password in a URL, a secret's
 * value), so that no diff line shows: says why the update has no visible diff.
 */
export function maskedChangeNote(change: Change): string | undefined {
  if (change.action !== "update" || !change.desired || !change.actual) return undefined;
  if (change.actual.hash === undefined || change.actual.hash === change.desired.hash) return undefined;
  if (changePatch(change) !== undefined) return undefined;
  return "changed only in masked values (a secret or a password inside a URL), which are never printed";
}

/** The diff shown for an update, or undefined for other actions and for text-identical updates. */
export function changePatch(change: Change): string | undefined {
  if (change.action !== "update" || !change.desired || !change.actual) return undefined;
  const live = escapeForTerminal(maskSecrets(change.actual.text));
  const desired = escapeForTerminal(maskSecrets(change.desired.text));
  if (live === desired) return undefined;
  const patch = createTwoFilesPatch(
    `live/${change.subject}`,
    `desired/${change.subject}`,
    live,
    desired,
    undefined,
    undefined,
    { context: 3 },
  );
  // Drop the "=====" separator line createTwoFilesPatch puts first.
  return patch.replace(/^=+\n/, "");
}
