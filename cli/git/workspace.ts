// A place to apply a bump: a temporary clone of a remote, or the operator's own working checkout.
// Both commit the same way and push (if they have somewhere to push) without ever forcing.
import { openCheckout } from "./checkout-workspace.js";
import { openClone } from "./clone-workspace.js";
import type { RepoLocation } from "./repo-location.js";
import type { OpenOptions, Workspace } from "./workspace-common.js";

export type { OpenOptions, Workspace } from "./workspace-common.js";

export function openWorkspace(location: RepoLocation, options: OpenOptions): Promise<Workspace> {
  return location.kind === "remote" ? openClone(location, options) : openCheckout(location.dir, options);
}
