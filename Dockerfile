# The reconciler image: sysconfig's CLI and reconciler on Node 24, production dependencies only.
# `npm run image` builds it (as sysconfig/reconciler:<version>) from a context it prepares itself,
# because a build container may not reach the npm registry (cli/build/reconciler-context.ts):
#   deps/    node_modules/: the production dependency closure of package-lock.json (no .d.ts,
#            source maps or docs), apart so that a code change leaves its layer cached
#   app/     package.json, dist/cli, dist/reconciler, templates/, sysconfig-example/
#   image/   the `sysconfig` launcher, the build-stage script, the empty /sysconfig/config
# The final stage only COPYs, so any Node 24 image works as the base, even one without a shell
# (the tests use an image made with `docker import` from the host's node binary).
ARG NODE_IMAGE=node:24-slim

# Build stage: lay out the application, add the non-root user, check that the CLI loads.
FROM ${NODE_IMAGE} AS app
COPY deps/ /opt/sysconfig/
COPY app/ /opt/sysconfig/
COPY image/sysconfig /usr/local/bin/sysconfig
COPY image/prepare.cjs /tmp/prepare.cjs
RUN ["/usr/local/bin/node", "/tmp/prepare.cjs"]

# Runtime stage: the base image plus the application; config images add /sysconfig/config on top.
FROM ${NODE_IMAGE}
COPY --from=app /out/etc/ /etc/
COPY --from=app /opt/sysconfig/ /opt/sysconfig/
COPY --from=app /usr/local/bin/sysconfig /usr/local/bin/sysconfig
COPY image/rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    SYSCONFIG_REPO=/sysconfig/config
LABEL org.opencontainers.image.title="sysconfig reconciler" \
      org.opencontainers.image.description="GitOps reconciler for fleet, Kubernetes and Docker hosts"
USER 10001:10001
WORKDIR /sysconfig/config
ENTRYPOINT ["sysconfig"]
CMD ["reconcile"]
