#!/usr/bin/env bash
# The end-to-end demo (`npm run demo`, which first runs `npm run services` and `npm run build`):
# the whole GitOps loop on this machine's Docker engine, narrated step by step —
#   config repo (sysconfig init) → service images in a registry → sysconfig bump → config image
#   (npm run image, sysconfig build --push) → docker run of the config image → a second version,
#   rolled out the same way → a third run that changes nothing.
# `bash scripts/demo.sh clean` removes what the demo left (containers of system "acme", work dirs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE="$ROOT/node_modules/.bin/node"
SYSTEM=acme
REGISTRY=127.0.0.1:5000
SOCK=/var/run/docker.sock
PORT=8080
CONFIG_IMAGE="$REGISTRY/$SYSTEM/sysconfig:develop"
WORK_PREFIX=/tmp/sysconfig-demo.

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
  ids=$(docker ps -aq --filter "label=io.sysconfig.system=$SYSTEM")
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id per word
    docker rm -f $ids >/dev/null
  fi
  rm -rf "$WORK_PREFIX"*
}

if [ "${1:-}" = "clean" ]; then
  clean
  echo "demo: removed the containers of system '$SYSTEM' (label io.sysconfig.system=$SYSTEM) and ${WORK_PREFIX}* ."
  echo "demo: the test services still run; stop them with: bash scripts/services.sh stop"
  exit 0
fi

START=$SECONDS
[ -x "$NODE" ] || die "run 'npm install' first ($NODE is missing)"
[ -f "$ROOT/dist/cli/main.js" ] || die "run 'npm run build' first (or simply: npm run demo)"
curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null || die "no Docker engine on $SOCK: run 'npm run services' (or simply: npm run demo)"

step "Starting clean"
if [ -n "$(docker ps -aq --filter "label=io.sysconfig.system=$SYSTEM")" ]; then
  say "Removing the containers a previous demo run left (label io.sysconfig.system=$SYSTEM)."
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

step "3. hello's CI bumps the config repo to its new build"
show sysconfig bump hello 2-develop --repo "$WORK/config.git" || die "sysconfig bump failed"

step "4. The config repo's CI bakes the config image: the reconciler image plus the reviewed config"
printf '    $ node dist/cli/image.js    # = npm run image, without building dist/ again\n'
(cd "$ROOT" && "$NODE" dist/cli/image.js 2>"$WORK/image.log") | indent || die "npm run image failed: $(tail -n 5 "$WORK/image.log")"
git -C "$WORK/config" pull -q --ff-only
(cd "$WORK/config" && show_results build-1.log sysconfig build --build-num 1 --push)

RUN=(docker run --rm --network host --group-add "$(stat -c %g "$SOCK")" -v "$SOCK:$SOCK" "$CONFIG_IMAGE")
step "5. Run the config image on the Docker host: plan, then apply"
say "The reconciler runs as a non-root user (uid 10001); --group-add gives it the docker socket's group" \
  "($(stat -c %G "$SOCK"), gid $(stat -c %g "$SOCK")) and nothing else. Access to that socket is root-equivalent" \
  "on the host: give it only to the reconciler."
show "${RUN[@]}" || die "the first reconcile failed"

step "6. What runs now: the containers sysconfig owns, and the service's answer"
show docker ps --filter "label=io.sysconfig.system=$SYSTEM" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
show curl -s "http://127.0.0.1:$PORT/" || die "the hello service does not answer on 127.0.0.1:$PORT"

step "7. hello build 3: bump, build, and run the config image again"
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

step "8. The new build answers; one container per service, hello replaced"
show docker ps --filter "label=io.sysconfig.system=$SYSTEM" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
show curl -s "http://127.0.0.1:$PORT/" || die "the hello service does not answer on 127.0.0.1:$PORT"

step "9. A third run changes nothing: the host matches the config"
show "${RUN[@]}" plan || die "the third run (plan) failed"

step "Done in $((SECONDS - START)) s"
say "Clean up the demo's containers and files with:  bash scripts/demo.sh clean" \
  "(the registry, the engine and sshd keep running for the tests; stop them with: bash scripts/services.sh stop)"
