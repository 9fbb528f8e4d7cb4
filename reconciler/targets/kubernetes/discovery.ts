// API discovery, cached for one run: which group versions the server serves and, per group version,
// its resources (plural, kind, scope, verbs). One request for the group list (`/apis`, asked in the
// aggregated form first: a server that has it answers every group version in that one request), then
// at most one request per group version a run uses. Nothing else in the target guesses versions.
import { InternalError, reasonOf, RuntimeFailureError } from "../../errors.js";
import type { KubernetesClient } from "./client.js";
import { ANNOTATION, type KindResolver } from "./desired.js";
import { groupOf, rankOf, type KindInfo } from "./kinds.js";

/** A resource of a group version, as discovery lists it. */
export interface DiscoveredResource {
  plural: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

interface GroupInfo {
  /** Served versions, preferred first. */
  versions: string[];
}

interface APIGroupList {
  kind?: string;
  groups?: { name: string; versions?: { version: string }[]; preferredVersion?: { version: string } }[];
  items?: AggregatedGroup[];
}

/** apidiscovery.k8s.io v2 / v2beta1 APIGroupDiscovery: every version's resources inline. */
interface AggregatedGroup {
  metadata?: { name?: string };
  versions?: {
    version: string;
    resources?: { resource: string; responseKind?: { kind?: string }; scope?: string; verbs?: string[] }[];
  }[];
}

interface APIResourceList {
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}

const AGGREGATED_ACCEPT =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/** Parses `/apis` in either form: the plain group list, or aggregated discovery with resources. */
export function parseGroupList(body: APIGroupList): {
  groups: Map<string, GroupInfo>;
  resources: Map<string, DiscoveredResource[]>;
} {
  const groups = new Map<string, GroupInfo>();
  const resources = new Map<string, DiscoveredResource[]>();
  if (body.kind === "APIGroupDiscoveryList") {
    for (const item of body.items ?? []) {
      const group = item.metadata?.name ?? "";
      const versions = (item.versions ?? []).map((v) => v.version);
      groups.set(group, { versions });
      for (const v of item.versions ?? []) {
        resources.set(
          group === "" ? v.version : `${group}/${v.version}`,
          (v.resources ?? [])
            .filter((r) => r.responseKind?.kind !== undefined && !r.resource.includes("/"))
            .map((r) => ({
              plural: r.resource,
              kind: r.responseKind?.kind ?? "",
              namespaced: r.scope === "Namespaced",
              verbs: r.verbs ?? [],
            })),
        );
      }
    }
    return { groups, resources };
  }
  for (const g of body.groups ?? []) {
    const preferred = g.preferredVersion?.version;
    const versions = (g.versions ?? []).map((v) => v.version);
    groups.set(g.name, {
      versions: preferred === undefined ? versions : [preferred, ...versions.filter((v) => v !== preferred)],
    });
  }
  return { groups, resources };
}

export class Discovery {
  private groups: Promise<Map<string, GroupInfo>> | undefined;
  private readonly resources = new Map<string, Promise<DiscoveredResource[] | undefined>>();
  private readonly loaded = new Map<string, DiscoveredResource[] | undefined>();
  private loadedGroups: Map<string, GroupInfo> | undefined;

  constructor(private readonly client: KubernetesClient) {}

  /** Fetches what resolving these apiVersions needs; afterwards find() and servedVersions() answer without I/O. */
  async load(apiVersions: Iterable<string>): Promise<void> {
    const wanted = [...new Set(apiVersions)];
    const groups = await this.loadGroups();
    await Promise.all(wanted.map((v) => this.groupVersion(v)));
    // For the error message of a version that is not served: the versions that are, and their kinds.
    const missing = wanted.filter((v) => this.loaded.get(v) === undefined);
    const others = missing.flatMap((v) =>
      (groups.get(groupOf(v))?.versions ?? []).map((o) => `${groupOf(v)}/${o}`),
    );
    await Promise.all(others.map((v) => this.groupVersion(v)));
  }

  /** The resource for apiVersion + kind, if the server serves it (load() first). */
  find(apiVersion: string, kind: string): DiscoveredResource | undefined {
    return this.loaded.get(apiVersion)?.find((r) => r.kind === kind);
  }

  /** KindInfo of a served kind (load() first). */
  kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
    const found = this.find(apiVersion, kind);
    if (!found) return undefined;
    const group = groupOf(apiVersion);
    return {
      apiVersion,
      group,
      kind,
      plural: found.plural,
      namespaced: found.namespaced,
      rank: rankOf(group, kind),
    };
  }

  /** Resolves against what load() fetched; a problem names the versions the server does serve. */
  resolver(): KindResolver {
    return {
      resolve: (apiVersion, kind) => {
        const info = this.kindInfo(apiVersion, kind);
        if (info) return info;
        const group = groupOf(apiVersion);
        const served = this.servedVersions(group);
        const server = this.client.server;
        if (served.length === 0) {
          return (
            `${apiVersion} ${kind} is not served by the API server ${server}: it serves no API group ` +
            `"${group}" (is the CustomResourceDefinition installed, or in this config?)`
          );
        }
        const listed = this.loaded.get(apiVersion);
        if (listed) {
          return (
            `${apiVersion} serves no kind ${kind} on ${server} (it serves ${listed.map((r) => r.kind).join(", ") || "nothing"}); ` +
            `check the kind's spelling`
          );
        }
        const withKind = served.filter(
          (v) => this.find(group === "" ? v : `${group}/${v}`, kind) !== undefined,
        );
        return (
          `${apiVersion} ${kind} is not served by the API server ${server}, which serves ${group === "" ? "the core group" : group} ` +
          `at ${served.join(", ")}${withKind.length > 0 ? ` (${kind} at ${withKind.join(", ")})` : ""}; use a served version, ` +
          `or list it in the ${ANNOTATION.fallbackVersions} annotation so each cluster gets one it serves`
        );
      },
    };
  }

  /** The versions the server serves for a group (preferred first); [] when it serves no such group. */
  servedVersions(group: string): string[] {
    if (!this.loadedGroups) throw new InternalError("kubernetes discovery: servedVersions() before load()");
    return group === "" ? ["v1"] : (this.loadedGroups.get(group)?.versions ?? []);
  }

  /** Every kind of every group's preferred version that can be listed (to rebuild a lost inventory). */
  async listableKinds(): Promise<KindInfo[]> {
    const groups = await this.loadGroups();
    const versions = [
      "v1",
      ...[...groups.entries()].flatMap(([g, info]) => (info.versions[0] ? [`${g}/${info.versions[0]}`] : [])),
    ];
    await Promise.all(versions.map((v) => this.groupVersion(v)));
    return versions.flatMap((v) =>
      (this.loaded.get(v) ?? [])
        .filter((r) => r.verbs.includes("list"))
        .flatMap((r) => {
          const info = this.kindInfo(v, r.kind);
          return info ? [info] : [];
        }),
    );
  }

  /** Requests made so far, by what they were (for tests and benchmarks). */
  get groupVersionsFetched(): number {
    return this.loaded.size;
  }

  private loadGroups(): Promise<Map<string, GroupInfo>> {
    this.groups ??= this.client
      .request<APIGroupList>("GET", "/apis", { acceptHeader: AGGREGATED_ACCEPT, countAs: "DISCOVERY" })
      .then((res) => {
        const parsed = parseGroupList(res.body);
        for (const [gv, list] of parsed.resources) {
          this.loaded.set(gv, list);
          this.resources.set(gv, Promise.resolve(list));
        }
        this.loadedGroups = parsed.groups;
        return parsed.groups;
      })
      .catch((error: unknown) => {
        throw new RuntimeFailureError(`kubernetes discovery failed: GET /apis: ${reasonOf(error)}`, {
          cause: error,
        });
      });
    return this.groups;
  }

  private groupVersion(apiVersion: string): Promise<DiscoveredResource[] | undefined> {
    let pending = this.resources.get(apiVersion);
    if (!pending) {
      pending = this.fetchGroupVersion(apiVersion);
      this.resources.set(apiVersion, pending);
    }
    return pending;
  }

  private async fetchGroupVersion(apiVersion: string): Promise<DiscoveredResource[] | undefined> {
    const group = groupOf(apiVersion);
    const version = apiVersion.slice(group === "" ? 0 : group.length + 1);
    // A version the group list does not name is not served: no request needed.
    if (group !== "" && !(await this.loadGroups()).get(group)?.versions.includes(version)) {
      this.loaded.set(apiVersion, undefined);
      return undefined;
    }
    if (group === "" && apiVersion !== "v1") {
      this.loaded.set(apiVersion, undefined);
      return undefined;
    }
    const path = group === "" ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
    let list: DiscoveredResource[] | undefined;
    try {
      const res = await this.client.request<APIResourceList>("GET", path, {
        accept: [404],
        countAs: "DISCOVERY",
      });
      list =
        res.status === 404
          ? undefined
          : (res.body.resources ?? [])
              .filter((r) => !r.name.includes("/"))
              .map((r) => ({ plural: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs ?? [] }));
    } catch (error) {
      throw new RuntimeFailureError(
        `kubernetes discovery of ${apiVersion} failed: GET ${path}: ${reasonOf(error)}`,
        {
          cause: error,
        },
      );
    }
    this.loaded.set(apiVersion, list);
    return list;
  }
}
