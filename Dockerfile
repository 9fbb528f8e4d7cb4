# The reconciler image: sysconfig's CLI and reconciler on Node 24, production dependencies only.
# `npm run image` builds it (as sysconfig/reconciler:<version>) from a context it prepares itself,
# because a build container may not reach the npm registry (cli/images/reconciler-context.ts):
#   deps/   opt/sysconfig/node_modules: the production dependency closure of package-lock.json
#           (no .d.ts, source maps or docs), apart so that a code change leaves its layer cached
#   app/    opt/sysconfig/{package.json,dist/cli/main.js,dist/cli/bundle,templates,sysconfig-example},
#           usr/local/bin/sysconfig (the launcher), sysconfig/config/ (empty), .prepare.cjs
# The runtime stage only COPYs, so any Node 24 image works as the base, even one without a shell
# (the tests use an image made with `docker import` from the host's node binary).
ARG NODE_IMAGE=node:24-slim

# Build stage: lay out the tree under /out, add the non-root user, check that the CLI loads.
FROM ${NODE_IMAGE} AS app
COPY deps/ /out/
COPY app/ /out/
RUN ["/usr/local/bin/node", "/out/.prepare.cjs"]

# Runtime stage: the base image plus one layer; config images add /sysconfig/config on top.
FROM ${NODE_IMAGE}
COPY --from=app /out/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    SYSCONFIG_REPO=/sysconfig/config
LABEL org.opencontainers.image.title="sysconfig reconciler" \
      org.opencontainers.image.description="GitOps reconciler for fleet, Kubernetes and Docker hosts"
USER 10001:10001
WORKDIR /sysconfig/config
ENTRYPOINT ["sysconfig"]
CMD ["reconcile"]
