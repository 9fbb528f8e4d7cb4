// What validate (and render, bump, build) can know about rendered Kubernetes manifests without a cluster:
// each file is YAML of objects with apiVersion, kind and metadata.name; no object is rendered twice; and a
// kind whose scope is known offline (built in, or defined by one of the config's own CRDs) is not given a
// namespace when it is cluster-scoped. A kind known only to the server (a CRD someone else installed) is
// left to plan, which resolves it by discovery. Pure: the same checks plan runs, with an offline resolver.
import type { DesiredState } from "../../model.js";
import {
  builtinResolver,
  kindsDefinedByCrds,
  parseDesiredDocuments,
  resolveDesiredObjects,
  type KindResolver,
} from "./desired.js";
import { groupOf, kindKey, rankOf, type KindInfo } from "./kinds.js";

/** Throws InvalidInputError (naming the file and the fix) when a rendered manifest could never apply. */
export function checkKubernetesManifests(state: DesiredState): void {
  const documents = parseDesiredDocuments(state);
  const ownCrds = kindsDefinedByCrds(documents, builtinResolver);
  const resolver: KindResolver = {
    resolve(apiVersion, kind) {
      const builtin = builtinResolver.resolve(apiVersion, kind);
      if (typeof builtin !== "string") return builtin;
      const crd = ownCrds.get(kindKey(apiVersion, kind));
      // Offline the CRD is as good as served: whether the server has it yet is plan's question.
      if (crd !== undefined) return { ...crd, definedBy: undefined };
      return unknownKind(apiVersion, kind);
    },
  };
  resolveDesiredObjects(state, documents, resolver);
}

/** A kind only the server knows: assumed namespaced (so no namespace is refused), checked at plan. */
function unknownKind(apiVersion: string, kind: string): KindInfo {
  const group = groupOf(apiVersion);
  return {
    apiVersion,
    group,
    kind,
    plural: `${kind.toLowerCase()}s`,
    namespaced: true,
    rank: rankOf(group, kind),
  };
}
