// The unified diff the page shows for one change: live → desired for an update (the plan's own patch),
// the whole desired text as additions for a create, the whole live text as removals for a delete.
// Secrets are masked and control characters made visible before anything is compared.
import { createTwoFilesPatch } from "diff";
import type { Change } from "../../model.js";
import { changePatch } from "../../plan/patch.js";
import { escapeForTerminal } from "../../text/escape.js";
import { maskSecrets } from "../../text/mask.js";

const shown = (text: string) => escapeForTerminal(maskSecrets(text));

export function changeDiff(change: Change): string | undefined {
  if (change.action === "update") return changePatch(change);
  if (change.action === "create" && change.desired) {
    return strip(
      createTwoFilesPatch("/dev/null", `desired/${change.subject}`, "", shown(change.desired.text)),
    );
  }
  if (change.action === "delete" && change.actual) {
    return strip(createTwoFilesPatch(`live/${change.subject}`, "/dev/null", shown(change.actual.text), ""));
  }
  return undefined;
}

const strip = (patch: string) => patch.replace(/^=+\n/, "");
