#!/usr/bin/env bash
# The end-to-end demo (`npm run demo`, which first runs `npm run services` and `npm run build`):
# the whole GitOps loop on this machine's Docker engine, narrated step by step —
#   config repo (sysconfig init) → service images in a registry → sysconfig bump and an encrypted secret
#   (sysconfig secret set) → config image (npm run image, sysconfig build --push) → docker run of the
#   config image → the secret is in the container and nowhere else → a second version, rolled out the
#   same way → a third run that changes nothing → serve and its web page, left running.
# `bash scripts/demo.sh clean` removes what the demo left (containers of system "acme", the demo's serve
# container, work dirs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE="$ROOT/node_modules/.bin/node"
SYSTEM=acme
# The demo runs the example's develop environment; containers of acme's other environments (the test
# suites' config images for staging and master carry io.sysconfig.system=acme too) are not the demo's.
ENVIRONMENT=develop
OWN="--filter label=io.sysconfig.system=$SYSTEM --filter label=io.sysconfig.environment=$ENVIRONMENT"
REGISTRY=127.0.0.1:5000
SOCK=/var/run/docker.sock
PORT=8080
CONFIG_IMAGE="$REGISTRY/$SYSTEM/sysconfig:develop"
WORK_PREFIX=/tmp/sysconfig-demo.
# DEMO ONLY: the age identities of the example's environments (public, in this repo; never use them for
# anything real). Mounted read-only where the reconciler runs, as deploy/docker-host/ shows for a real key.
IDENTITY="$ROOT/demo/identities/demo.key"
IDENTITY_MOUNT=(--mount "type=bind,source=$IDENTITY,target=/run/sysconfig/identity.key,readonly"
  -e SYSCONFIG_IDENTITY_FILE=/run/sysconfig/identity.key)
# serve, started at the end and left running: one container of this name, replaced by the next demo run.
SERVE=sysconfig-demo-serve

sysconfig() { "$NODE" "$ROOT/dist/cli/main.js" "$@"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*" | sed "$([ -n "${NO_COLOR:-}" ] || [ ! -t 1 ] && echo 's/\x1b\[[0-9;]*m//g')"; }
say() { printf '    %s\n' "$@"; }
indent() { sed 's/^/    | /'; }
# Shows a command, runs it, indents its output (stdout and stderr).
show() {
  local shown=() arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then shown+=("$arg"); else shown+=("'$arg'"); fi
  done
  printf '    $ %s\n' "${shown[*]}"
  "$@" 2>&1 | indent
  return "${PIPESTATUS[0]}"
}
# Like show, but only the command's results (stdout); its progress log goes to $WORK/LOG.
show_results() {
  local log=$1
  shift
  printf '    $ %s\n' "$*"
  "$@" 2>"$WORK/$log" | indent
  [ "${PIPESTATUS[0]}" = 0 ] || die "$* failed: $(tail -n 5 "$WORK/$log")"
}
die() {
  printf '\ndemo: FAILED: %s\n' "$*" >&2
  exit 1
}

clean() {
  local ids
  # serve first: it must not start a run while the system's containers go.
  docker rm -f "$SERVE" >/dev/null 2>&1 || true
  # shellcheck disable=SC2086 # the filters are words
  ids=$(docker ps -aq $OWN)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id per word
    docker rm -f $ids >/dev/null
  fi
  rm -rf "$WORK_PREFIX"*
}

if [ "${1:-}" = "clean" ]; then
  clean
  echo "demo: removed the containers of system '$SYSTEM' on $ENVIRONMENT (labels io.sysconfig.system=$SYSTEM, io.sysconfig.environment=$ENVIRONMENT), $SERVE and ${WORK_PREFIX}* ."
  echo "demo: the test services still run; stop them with: bash scripts/services.sh stop"
  exit 0
fi

START=$SECONDS
[ -x "$NODE" ] || die "run 'npm install' first ($NODE is missing)"
[ -f "$ROOT/dist/cli/main.js" ] || die "run 'npm run build' first (or simply: npm run demo)"
curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null || die "no Docker engine on $SOCK: run 'npm run services' (or simply: npm run demo)"

step "Starting clean"
# (the serve container carries the labels too: it runs the config image, which is labelled with its system
# and environment)
# shellcheck disable=SC2086 # the filters are words
if [ -n "$(docker ps -aq $OWN)" ]; then
  say "Removing the containers a previous demo run left (labels io.sysconfig.system=$SYSTEM, io.sysconfig.environment=$ENVIRONMENT: services and serve)."
fi
clean
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  die "something already answers on 127.0.0.1:$PORT, the port the demo's hello service uses; stop it and run again"
fi
WORK=$(mktemp -d "${WORK_PREFIX}XXXXXX")
say "Work directory: $WORK"

step "1. A config repo, from the example (sysconfig init), with a bare remote as CI would use"
show sysconfig init "$WORK/config" || die "sysconfig init failed"
git clone -q --bare "$WORK/config" "$WORK/config.git"
git -C "$WORK/config" checkout -q develop
git -C "$WORK/config" remote add origin "$WORK/config.git"
git -C "$WORK/config" fetch -q origin
git -C "$WORK/config" branch -q -u origin/develop develop
say "One branch per environment: $(git -C "$WORK/config.git" branch --format='%(refname:short)' | tr '\n' ' ')" \
  "develop runs on a single Docker host (this machine): services hello (port $PORT), worker (3 instances), legacy-api."

step "2. The services' CI pushes their images to the registry $REGISTRY"
build_hello() {
  docker build -q --build-arg "BUILD=$1" -t "$REGISTRY/$SYSTEM/hello:$1-develop" "$ROOT/demo/hello" \
    >/dev/null 2>>"$WORK/images.log" || die "docker build of hello failed: $(tail -n 5 "$WORK/images.log")"
}
build_hello 2
build_hello 3
docker tag sysconfig-base/busybox:latest "$REGISTRY/$SYSTEM/worker:1-develop"
docker tag sysconfig-base/busybox:latest "$REGISTRY/$SYSTEM/legacy-api:1-develop"
for image in hello:2-develop hello:3-develop worker:1-develop legacy-api:1-develop; do
  docker push -q "$REGISTRY/$SYSTEM/$image" >/dev/null
  docker rmi -f "$REGISTRY/$SYSTEM/$image" >/dev/null # the host pulls it from the registry, as a real one would
  say "pushed $REGISTRY/$SYSTEM/$image"
done
say "hello build 2 and build 3 answer \"hello from acme (build N)\" (demo/hello/Dockerfile)."

step "3. hello's CI bumps the config repo to its new build; an operator sets hello's API token"
show sysconfig bump hello 2-develop --repo "$WORK/config.git" || die "sysconfig bump failed"
API_TOKEN="demo-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
say "The token is new on every demo run: $API_TOKEN" \
  "It goes in on stdin (never an argument: shell history and ps show those), encrypted with age to develop's" \
  "recipient only (environments.develop.secrets.recipients); the commit holds ciphertext and a reference."
printf '    $ printf %%s "$API_TOKEN" | sysconfig secret set hello API_TOKEN --environment develop --repo %s\n' "$WORK/config.git"
printf %s "$API_TOKEN" | sysconfig secret set hello API_TOKEN --environment develop --repo "$WORK/config.git" \
  >"$WORK/secret.log" 2>&1 || die "sysconfig secret set failed: $(tail -n 5 "$WORK/secret.log")"
{ grep '^[-+] *"API_TOKEN"' "$WORK/secret.log" | sed 's/^/rendered\/hello.yaml /' || true; tail -n 1 "$WORK/secret.log"; } | indent

step "4. The config repo's CI bakes the config image: the reconciler image plus the reviewed config"
printf '    $ node dist/cli/image.js    # = npm run image, without building dist/ again\n'
(cd "$ROOT" && "$NODE" dist/cli/image.js 2>"$WORK/image.log") | indent || die "npm run image failed: $(tail -n 5 "$WORK/image.log")"
git -C "$WORK/config" pull -q --ff-only
(cd "$WORK/config" && show_results build-1.log sysconfig build --build-num 1 --push)

DOCKER_ACCESS=(--network host --group-add "$(stat -c %g "$SOCK")" -v "$SOCK:$SOCK")
RUN=(docker run --rm "${DOCKER_ACCESS[@]}" "${IDENTITY_MOUNT[@]}" "$CONFIG_IMAGE")
step "5. Run the config image on the Docker host: plan, then apply"
say "The reconciler runs as a non-root user (uid 10001); --group-add gives it the docker socket's group" \
  "($(stat -c %G "$SOCK"), gid $(stat -c %g "$SOCK")) and nothing else. Access to that socket is root-equivalent" \
  "on the host: give it only to the reconciler. The age identity that decrypts develop's secrets is" \
  "mounted read-only: here demo/identities/demo.key (demo only, never for anything real)."
show "${RUN[@]}" || die "the first reconcile failed"

step "6. What runs now: the containers sysconfig owns, and the service's answer"
show docker ps --filter "label=io.sysconfig.system=$SYSTEM" --filter "label=io.sysconfig.environment=$ENVIRONMENT" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
show curl -s "http://127.0.0.1:$PORT/" || die "the hello service does not answer on 127.0.0.1:$PORT"

# How many of the pushed config image's blobs (its config and every layer, unpacked), read straight
# from the registry, contain each string: "hits/blobs" per string, in order.
registry_hits() {
  local manifest digest blobs=0 needle
  local -a hits=()
  manifest=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/$SYSTEM/sysconfig/manifests/develop") ||
    die "cannot read the manifest of $CONFIG_IMAGE from the registry"
  for needle in "$@"; do hits+=(0); done
  for digest in $(printf '%s' "$manifest" | grep -o 'sha256:[0-9a-f]\{64\}' | sort -u); do
    curl -sfL "http://$REGISTRY/v2/$SYSTEM/sysconfig/blobs/$digest" | gzip -dcf >"$WORK/blob" ||
      die "cannot read blob $digest of $CONFIG_IMAGE from the registry"
    blobs=$((blobs + 1))
    local i=0
    for needle in "$@"; do
      if grep -qaF -- "$needle" "$WORK/blob"; then hits[i]=$((hits[i] + 1)); fi
      i=$((i + 1))
    done
  done
  rm -f "$WORK/blob"
  for i in "${!hits[@]}"; do printf '%s/%s ' "${hits[i]}" "$blobs"; done
}

step "7. The secret: hello's container has it; the config repo and the config image do not"
# (busybox's sh, as the image has no printenv)
show docker exec "$SYSTEM-hello" sh -c 'echo "$API_TOKEN"'
[ "$(docker exec "$SYSTEM-hello" sh -c 'echo "$API_TOKEN"')" = "$API_TOKEN" ] || die "hello's API_TOKEN is not the value set in step 3"
say "= the token set in step 3. Now the same string everywhere else:"
commits=$(git -C "$WORK/config.git" rev-list --all | wc -l)
# shellcheck disable=SC2046 # one revision per word
in_git=$(git -C "$WORK/config.git" grep -F -l -- "$API_TOKEN" $(git -C "$WORK/config.git" rev-list --all) | wc -l || true)
in_log=$(git -C "$WORK/config.git" log --all --format=%B | grep -cF -- "$API_TOKEN" || true)
in_history=$(docker history --no-trunc --format '{{.CreatedBy}}' "$CONFIG_IMAGE" | grep -cF -- "$API_TOKEN" || true)
in_inspect=$(docker image inspect "$CONFIG_IMAGE" | grep -cF -- "$API_TOKEN" || true)
read -r in_layers with_ciphertext <<<"$(registry_hits "$API_TOKEN" "BEGIN AGE ENCRYPTED FILE")"
[ -n "$with_ciphertext" ] || die "the scan of the config image's blobs in the registry failed"
found() { printf '    %-66s %s hits\n' "$1" "$2"; }
found "git grep: every file of all $commits commits of the config repo" "$in_git"
found "git log: every commit message" "$in_log"
found "docker history and docker image inspect of the config image" "$((in_history + in_inspect))"
found "every blob of the config image in the registry, unpacked (${in_layers#*/})" "${in_layers%%/*}"
say "(the ciphertext is there, in ${with_ciphertext%%/*} of those blobs: only develop's identity opens it)"
[ "$in_git" = 0 ] && [ "$in_log" = 0 ] && [ "$in_history" = 0 ] && [ "$in_inspect" = 0 ] &&
  [ "${in_layers%%/*}" = 0 ] || die "the token was found in the config repo or the config image"
[ "${with_ciphertext%%/*}" != 0 ] || die "the layer scan did not find the ciphertext: it read the wrong image"

step "8. hello build 3: bump, build, and run the config image again"
show sysconfig bump hello 3-develop --repo "$WORK/config.git" || die "sysconfig bump failed"
git -C "$WORK/config" pull -q --ff-only
(cd "$WORK/config" && sysconfig build --build-num 2 --push >"$WORK/build-2.log" 2>&1) ||
  die "sysconfig build failed: $(tail -n 5 "$WORK/build-2.log")"
say "built and pushed $CONFIG_IMAGE (and :2-develop) from the new commit"
say "While it runs, a loop asks the service every 0.1 s, to show the replacement as a client sees it."
(
  end=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$end" ] && [ ! -e "$WORK/stop-poll" ]; do
    curl -s -m 1 "http://127.0.0.1:$PORT/" || echo "(no answer)"
    sleep 0.1
  done >"$WORK/poll.log"
) &
POLLER=$!
show "${RUN[@]}" || die "the second reconcile failed"
touch "$WORK/stop-poll"
wait "$POLLER" || true
say "What the client saw during the run, in order:"
uniq -c "$WORK/poll.log" | sed 's/^ *\([0-9]*\) \(.*\)$/  \2  ×\1/' | indent

step "9. The new build answers; one container per service, hello replaced"
show docker ps --filter "label=io.sysconfig.system=$SYSTEM" --filter "label=io.sysconfig.environment=$ENVIRONMENT" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
show curl -s "http://127.0.0.1:$PORT/" || die "the hello service does not answer on 127.0.0.1:$PORT"

step "10. A third run changes nothing: the host matches the config"
show "${RUN[@]}" plan || die "the third run (plan) failed"

step "11. serve: the config image as a long-running reconciler, with a live web page"
UI_PORT=$("$NODE" -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });')
od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/webhook-secret"
chmod 0644 "$WORK/webhook-secret" # the container's uid 10001 reads it; $WORK itself is private (0700)
SERVE_RUN=(docker run -d --name "$SERVE" "${DOCKER_ACCESS[@]}" "${IDENTITY_MOUNT[@]}"
  --mount "type=bind,source=$WORK/webhook-secret,target=/run/sysconfig/webhook-secret,readonly"
  "$CONFIG_IMAGE" serve --listen "127.0.0.1:$UI_PORT" --webhook-secret-file /run/sysconfig/webhook-secret)
printf '    $ %s\n' "${SERVE_RUN[*]}"
"${SERVE_RUN[@]}" >/dev/null 2>"$WORK/serve.log" || die "docker run of serve failed: $(tail -n 5 "$WORK/serve.log")"
say "It runs once at start, then every 5 minutes and on a signed POST /hooks/reconcile; never two runs at once."
deadline=$((SECONDS + 90))
until curl -sf "http://127.0.0.1:$UI_PORT/healthz" >/dev/null &&
  curl -sf "http://127.0.0.1:$UI_PORT/status" | grep -Eq '"runsFinished": ?[1-9]'; do
  [ "$SECONDS" -lt "$deadline" ] && [ "$(docker inspect -f '{{.State.Running}}' "$SERVE" 2>/dev/null)" = true ] ||
    die "serve did not finish its first run within 90 s: $(docker logs --tail 5 "$SERVE" 2>&1)"
  sleep 0.5
done
say "serve is up and has finished its first run. Its page shows acme's services, their state and every run:"
printf '\n        http://127.0.0.1:%s/\n\n' "$UI_PORT"
say "(also /status, /metrics, /healthz). Stop it with: docker rm -f $SERVE"

step "Done in $((SECONDS - START)) s"
say "Clean up the demo's containers (serve too) and files with:  bash scripts/demo.sh clean" \
  "(the registry, the engine and sshd keep running for the tests; stop them with: bash scripts/services.sh stop)"
