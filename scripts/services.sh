#!/usr/bin/env bash
# Starts the real components the demo, the tests and the benchmarks use, on this machine, as root:
#   - a Docker engine on /var/run/docker.sock (reused when one already answers there)
#   - registries on 127.0.0.1:5000 (no auth) and 127.0.0.1:5001 (htpasswd auth)
#   - two sshd instances on loopback: "bastion" 127.0.0.1:2222 and "fleet host" 127.0.0.1:2223
#   - local base images: sysconfig-base/busybox:latest and sysconfig-base/node:24
#   - Debian's chromium at /usr/bin/chromium, for the browser tests of serve's web page
#   - on request, a Kubernetes control plane on https://127.0.0.1:6443 (scripts/kubernetes.sh; its
#     first start builds it from Debian's source package, about 4 min)
# Usage: services.sh [COMPONENT...] with components `base` (the default: everything above but
# Kubernetes), `kubernetes`, `all`; or `services.sh stop`.
# Idempotent: a second run only checks. `bash scripts/services.sh stop` stops what it started.
# Exits non-zero with the reason when something cannot start: the tests then fail, they never skip.
set -euo pipefail

STATE=${SYSCONFIG_SERVICES_DIR:-/var/lib/sysconfig-services}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER_SOCK=/var/run/docker.sock
REGISTRY_PORTS=(5000 5001)
SSH_PORTS=(2222 2223)
SSH_NAMES=(bastion fleet-host)
REGISTRY_USER=sysconfig

say() { printf 'services: %s\n' "$*" >&2; }
die() {
  printf 'services: FAILED: %s\n' "$*" >&2
  exit 1
}

stop_all() {
  for pidfile in "$STATE"/run/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then say "stopped $(basename "$pidfile" .pid) (pid $pid)"; fi
    rm -f "$pidfile"
  done
}

if [ "${1:-}" = "stop" ]; then
  bash "$ROOT/scripts/kubernetes.sh" stop
  stop_all
  exit 0
fi

WANT_BASE=no
WANT_KUBERNETES=no
[ $# -gt 0 ] || set -- base
for component in "$@"; do
  case "$component" in
    base) WANT_BASE=yes ;;
    kubernetes) WANT_KUBERNETES=yes ;;
    all) WANT_BASE=yes WANT_KUBERNETES=yes ;;
    *) die "unknown component '$component': use base (the default), kubernetes, all, or stop" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages and starts dockerd and sshd); run: sudo npm run services"
mkdir -p "$STATE"/run "$STATE"/log

start_kubernetes() {
  bash "$ROOT/scripts/kubernetes.sh" start || die "the Kubernetes control plane did not start (reason above)"
  cat >&2 <<EOF
services: kubernetes ready.
  kube-apiserver  https://127.0.0.1:6443 (v1.20.2; CA $STATE/kubernetes/pki/ca.crt, admin token $STATE/kubernetes/admin.token)
  kubeconfig      $STATE/kubernetes/admin.kubeconfig (admin, context sysconfig-test)
  etcd            127.0.0.1:23790 (data in $STATE/kubernetes/etcd); no scheduler or kubelet: pods stay Pending
  stop with       bash scripts/services.sh stop
EOF
}

if [ "$WANT_BASE" = no ]; then
  start_kubernetes
  exit 0
fi

# --- Debian packages -------------------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
{ [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; } || need+=(busybox-static)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v curl >/dev/null || need+=(curl)
command -v file >/dev/null || need+=(file)
# The browser for serve's web page tests (driven headless by puppeteer-core; nothing downloads a browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v age >/dev/null || need+=(age)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt-get on this machine (a developer, kubernetes.sh) holds dpkg's lock for a while: wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >"$STATE/log/apt.log" 2>&1 || die "apt-get update failed (see $STATE/log/apt.log)"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >>"$STATE/log/apt.log" 2>&1 ||
    die "apt-get install ${need[*]} failed (see $STATE/log/apt.log)"
  # The packages' own services are not ours to run (we start our own instances below).
  pkill -x docker-registry 2>/dev/null || true
fi

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

# --- Docker engine ---------------------------------------------------------------------------
docker_up() { curl -sf --unix-socket "$DOCKER_SOCK" http://localhost/_ping; }
if docker_up; then
  say "docker engine: already answering on $DOCKER_SOCK (reused)"
else
  say "docker engine: starting dockerd (vfs, no iptables, no bridge)"
  # A containerd that died with the last dockerd leaves its pid file; once the pid is reused by another
  # process, dockerd waits for that process to answer as containerd and never starts.
  pidfile="$STATE/docker-exec/containerd/containerd.pid"
  if [ -f "$pidfile" ] && ! grep -qs containerd "/proc/$(cat "$pidfile")/cmdline"; then rm -f "$pidfile"; fi
  nohup dockerd --storage-driver=vfs --iptables=false --ip-masq=false --bridge=none \
    --data-root "$STATE/docker" --exec-root "$STATE/docker-exec" --pidfile "$STATE/run/dockerd.pid" \
    -H "unix://$DOCKER_SOCK" >"$STATE/log/dockerd.log" 2>&1 &
  wait_for 60 "docker engine" docker_up ||
    die "dockerd did not answer on $DOCKER_SOCK within 60 s; last log lines: $(tail -n 5 "$STATE/log/dockerd.log" | tr '\n' ' ')"
  say "docker engine: up ($(dockerd --version))"
fi

# --- Registries ------------------------------------------------------------------------------
mkdir -p "$STATE/registry"
if [ ! -s "$STATE/registry/password" ]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STATE/registry/password")
fi
if [ ! -s "$STATE/registry/htpasswd" ] || [ "$STATE/registry/password" -nt "$STATE/registry/htpasswd" ]; then
  htpasswd -Bbn "$REGISTRY_USER" "$(cat "$STATE/registry/password")" >"$STATE/registry/htpasswd"
fi

registry_config() { # registry_config PORT AUTH(yes|no)
  local port=$1 auth=$2
  cat <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry/data-$port
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: sysconfig-test-$port
EOF
  if [ "$auth" = yes ]; then
    cat <<EOF
auth:
  htpasswd:
    realm: sysconfig-test
    path: $STATE/registry/htpasswd
EOF
  fi
}

for port in "${REGISTRY_PORTS[@]}"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then
    say "registry 127.0.0.1:$port: already answering (reused)"
    continue
  fi
  auth=no
  [ "$port" = 5001 ] && auth=yes
  registry_config "$port" "$auth" >"$STATE/registry/config-$port.yml"
  nohup docker-registry serve "$STATE/registry/config-$port.yml" >"$STATE/log/registry-$port.log" 2>&1 &
  echo $! >"$STATE/run/registry-$port.pid"
  wait_for 20 "registry $port" curl -s -o /dev/null "http://127.0.0.1:$port/v2/" ||
    die "registry on 127.0.0.1:$port did not start; log: $(tail -n 5 "$STATE/log/registry-$port.log" | tr '\n' ' ')"
  say "registry 127.0.0.1:$port: started$([ "$auth" = yes ] && echo " (htpasswd: user $REGISTRY_USER, password in $STATE/registry/password)")"
done

# --- sshd on loopback ------------------------------------------------------------------------
mkdir -p "$STATE/ssh" /run/sshd
chmod 700 "$STATE/ssh"
[ -s "$STATE/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C sysconfig-test -f "$STATE/ssh/id_ed25519"
cp "$STATE/ssh/id_ed25519.pub" "$STATE/ssh/authorized_keys"
: >"$STATE/ssh/known_hosts.new"
for i in 0 1; do
  name=${SSH_NAMES[$i]}
  port=${SSH_PORTS[$i]}
  hostkey="$STATE/ssh/${name}_host_ed25519_key"
  [ -s "$hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$hostkey"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$hostkey.pub")" >>"$STATE/ssh/known_hosts.new"
  cat >"$STATE/ssh/sshd_${name}.conf" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $hostkey
PidFile $STATE/run/sshd-$name.pid
AuthorizedKeysFile $STATE/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
PermitOpen any
X11Forwarding no
LogLevel ERROR
EOF
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "sshd $name 127.0.0.1:$port: already listening (reused)"
    continue
  fi
  /usr/sbin/sshd -f "$STATE/ssh/sshd_${name}.conf" -E "$STATE/log/sshd-$name.log" ||
    die "sshd $name on 127.0.0.1:$port did not start; log: $(tail -n 5 "$STATE/log/sshd-$name.log" | tr '\n' ' ')"
  wait_for 10 "sshd $name" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" ||
    die "sshd $name is not listening on 127.0.0.1:$port"
  say "sshd $name 127.0.0.1:$port: started"
done
mv "$STATE/ssh/known_hosts.new" "$STATE/ssh/known_hosts"

# --- Local base images (nothing can be pulled here) -------------------------------------------
image_label() { docker image inspect -f '{{ index .Config.Labels "io.sysconfig.base-hash" }}' "$1" 2>/dev/null || true; }

add_busybox() { # add_busybox ROOTFS: static busybox plus its applets as symlinks, /tmp, users
  local rootfs=$1
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/www"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  mkdir -p "$rootfs/home/node" && chown 1000:1000 "$rootfs/home/node"
}

import_image() { # import_image NAME HASH ROOTFS CMD-JSON
  local name=$1 hash=$2 rootfs=$3 cmd=$4
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change "LABEL io.sysconfig.base-hash=$hash" --change "ENV PATH=/usr/local/bin:/bin" \
    --change "CMD $cmd" - "$name" >/dev/null
}

busybox_hash=$(sha256sum /bin/busybox | cut -c1-16)-1
if [ "$(image_label sysconfig-base/busybox:latest)" = "$busybox_hash" ]; then
  say "image sysconfig-base/busybox:latest: present"
else
  work=$(mktemp -d)
  add_busybox "$work/rootfs"
  import_image sysconfig-base/busybox:latest "$busybox_hash" "$work/rootfs" '["sh"]'
  rm -rf "$work"
  say "image sysconfig-base/busybox:latest: built from $(/bin/busybox | head -n 1 | cut -d' ' -f1,2)"
fi

NODE_BIN=$(readlink -f "$ROOT/node_modules/.bin/node" 2>/dev/null || true)
[ -x "$NODE_BIN" ] || die "the project's Node.js is missing ($ROOT/node_modules/.bin/node): run npm install first"
node_hash=$(sha256sum "$NODE_BIN" | cut -c1-16)-$busybox_hash
if [ "$(image_label sysconfig-base/node:24)" = "$node_hash" ]; then
  say "image sysconfig-base/node:24: present"
else
  work=$(mktemp -d)
  add_busybox "$work/rootfs"
  mkdir -p "$work/rootfs/usr/local/bin"
  cp "$NODE_BIN" "$work/rootfs/usr/local/bin/node"
  # The binary's shared libraries and the dynamic loader, at the paths it was linked against.
  for lib in $(ldd "$NODE_BIN" | grep -oE '/[^ ]+'); do
    mkdir -p "$work/rootfs$(dirname "$lib")"
    cp -L "$lib" "$work/rootfs$lib"
  done
  import_image sysconfig-base/node:24 "$node_hash" "$work/rootfs" '["node"]'
  rm -rf "$work"
  say "image sysconfig-base/node:24: built from $("$NODE_BIN" --version) ($NODE_BIN)"
fi

cat >&2 <<EOF
services: ready.
  docker engine   unix://$DOCKER_SOCK        (data in $STATE/docker)
  registries      127.0.0.1:5000 (no auth), 127.0.0.1:5001 (user $REGISTRY_USER, password file $STATE/registry/password)
  sshd            bastion 127.0.0.1:2222, fleet host 127.0.0.1:2223 (key $STATE/ssh/id_ed25519, known_hosts $STATE/ssh/known_hosts)
  base images     sysconfig-base/busybox:latest, sysconfig-base/node:24
  browser         /usr/bin/chromium ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))
  stop with       bash scripts/services.sh stop
EOF
[ "$WANT_KUBERNETES" = no ] || start_kubernetes
