#!/usr/bin/env bash
set -euo pipefail
node dist/bench/bump.js
node dist/bench/reconcile-fleet.js
node dist/bench/local.js
node dist/bench/reconcile-docker.js
node dist/bench/build.js
node dist/bench/serve.js
node dist/bench/serve.js pages
bash scripts/services.sh kubernetes # the control plane (built once by scripts/kubernetes.sh)
node dist/bench/reconcile-kubernetes.js
node dist/bench/kubernetes-rss.js
