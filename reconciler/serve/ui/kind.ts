// The kind of object a subject names, for the page: `docker:container/acme-web` → container,
// `fleet:web@1.service` → unit, `kubernetes:apps/v1/Deployment/shop/web` → Deployment.
export function kindOf(subject: string): string {
  const colon = subject.indexOf(":");
  const target = subject.slice(0, colon);
  const rest = subject.slice(colon + 1);
  if (target === "fleet") return rest.includes("@.") ? "unit template" : "unit";
  if (target === "kubernetes") {
    const parts = rest.split("/");
    // group/version/Kind/… or version/Kind/… (the core group): Kind is the first capitalised part.
    return parts.find((p) => /^[A-Z]/.test(p)) ?? "object";
  }
  const slash = rest.indexOf("/");
  return slash > 0 ? rest.slice(0, slash) : "object";
}

/** The object's name without the target and kind prefixes. */
export function nameOf(subject: string): string {
  const rest = subject.slice(subject.indexOf(":") + 1);
  if (subject.startsWith("fleet:")) return rest;
  const parts = rest.split("/");
  if (subject.startsWith("kubernetes:")) {
    const kindAt = parts.findIndex((p) => /^[A-Z]/.test(p));
    return parts.slice(kindAt + 1).join("/");
  }
  return parts.slice(1).join("/") || rest;
}
