#!/bin/sh
# Writes the page from the environment sysconfig passes in, then serves it on 8080.
set -eu
mkdir -p /tmp/www
printf '%s (build %s)\n' "${GREETING:-hello}" "$BUILD" >/tmp/www/index.html
exec httpd -f -p "${PORT:-8080}" -h /tmp/www
