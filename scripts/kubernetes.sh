#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the tests, the benchmarks and users, as root:
#   - kube-apiserver and kube-controller-manager v1.20.2, built once from Debian bookworm's `kubernetes`
#     source package with Debian's Go (the one Kubernetes tree Debian packages), kept under
#     $STATE/kubernetes/v1.20.2/bin; the source tree and the Go build cache are removed after the build
#   - Debian's etcd 3.4 on 127.0.0.1:23790 (peer 23800), data in $STATE/kubernetes/etcd
#   - kube-apiserver on https://127.0.0.1:6443: own CA, static token file (admin in system:masters),
#     RBAC, service-account issuer and keys, service range 10.96.0.0/16, admission webhooks off
#   - kube-controller-manager (ReplicaSets, service-account token Secrets, garbage collection);
#     no scheduler and no kubelet: pods stay Pending
#   - an admin kubeconfig at $STATE/kubernetes/admin.kubeconfig
# Usage: kubernetes.sh [start|build|stop]. Called by scripts/services.sh; idempotent (a second run only
# checks); serialised by a lock so that concurrent test runs neither build nor start twice.
# Exits non-zero with the reason when something cannot be built or started.
set -euo pipefail

STATE=${SYSCONFIG_SERVICES_DIR:-/var/lib/sysconfig-services}
K8S=$STATE/kubernetes
VERSION=v1.20.2
SOURCE_VERSION_RE='^1\.20\.[0-9]+\+really1\.20\.2-' # bookworm: 1.20.5+really1.20.2-1.1+deb12u1
BIN=$K8S/$VERSION/bin
PKI=$K8S/pki
KUBECONFIG_ADMIN=$K8S/admin.kubeconfig
ETCD_PORT=23790
ETCD_PEER_PORT=23800
API_PORT=6443
CM_PORT=10257
API=https://127.0.0.1:$API_PORT
SERVICE_RANGE=10.96.0.0/16
SERVICE_IP=10.96.0.1
ISSUER=https://kubernetes.default.svc.cluster.local

say() { printf 'kubernetes: %s\n' "$*" >&2; }
die() {
  printf 'kubernetes: FAILED: %s\n' "$*" >&2
  exit 1
}
log_tail() { tail -n "${2:-8}" "$1" 2>/dev/null | tr '\n' ' '; }

wait_for() { # wait_for SECONDS COMMAND...: true once COMMAND succeeds
  local seconds=$1
  shift
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

pid_alive() { [ -s "$STATE/run/$1.pid" ] && kill -0 "$(cat "$STATE/run/$1.pid")" 2>/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_all() {
  local name pid
  for name in kube-controller-manager kube-apiserver etcd; do
    [ -s "$STATE/run/$name.pid" ] || continue
    pid=$(cat "$STATE/run/$name.pid")
    if kill "$pid" 2>/dev/null; then
      wait_for 20 pid_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
      say "stopped $name (pid $pid)"
    fi
    rm -f "$STATE/run/$name.pid"
  done
}

# --- Debian packages -------------------------------------------------------------------------
install_packages() { # install_packages PACKAGE...: apt-get install those not installed yet
  local need=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  say "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$STATE/log/apt-kubernetes.log" 2>&1 ||
    die "apt-get update failed (see $STATE/log/apt-kubernetes.log)"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$STATE/log/apt-kubernetes.log" 2>&1 ||
    die "apt-get install ${need[*]} failed (see $STATE/log/apt-kubernetes.log)"
}

# The Debian mirror this machine's apt already uses, for the deb-src line (the repo names no host:
# the mirror comes from the machine's own apt sources, or SYSCONFIG_DEBIAN_MIRROR).
debian_mirror() {
  local uri
  uri=$(grep -hoE '(https?|file)://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n 1 | tr -d ' ' || true)
  uri=${SYSCONFIG_DEBIAN_MIRROR:-$uri}
  if [ -z "$uri" ]; then
    die "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/ (needed for the kubernetes source package); add the machine's Debian source to apt, or set SYSCONFIG_DEBIAN_MIRROR to its URL"
  fi
  printf '%s\n' "$uri"
}

# --- One-time build ----------------------------------------------------------------------------
build() {
  if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ]; then return 0; fi
  install_packages golang-go rsync make dpkg-dev xz-utils \
    golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev
  local work=$K8S/build log=$STATE/log/kubernetes-build.log started mirror
  started=$(date +%s)
  rm -rf "$work"
  mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/etc/sources.list.d" \
    "$work/apt/etc/preferences.d" "$work/src" "$work/home"
  mirror=$(debian_mirror)
  say "building kube-apiserver and kube-controller-manager $VERSION once from Debian bookworm's kubernetes" \
    "source ($mirror), about 4 min on 2 idle cores (it runs niced: longer on a busy machine); log: $log"

  # The source package, fetched with a private APT configuration: /etc/apt stays untouched.
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm main\n' "$mirror" \
    >"$work/apt/etc/sources.list"
  cat >"$work/apt/apt.conf" <<EOF
Dir::Etc::SourceList "$work/apt/etc/sources.list";
Dir::Etc::SourceParts "$work/apt/etc/sources.list.d";
Dir::Etc::Preferences "$work/apt/etc/preferences";
Dir::Etc::PreferencesParts "$work/apt/etc/preferences.d";
Dir::State "$work/apt";
Dir::State::Lists "$work/apt/lists";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$work/apt/cache";
Debug::NoLocking "true";
APT::Sandbox::User "root";
EOF
  {
    APT_CONFIG=$work/apt/apt.conf apt-get update &&
      (cd "$work/src" && APT_CONFIG=$work/apt/apt.conf apt-get source --download-only kubernetes)
  } >"$log" 2>&1 || die "downloading the kubernetes source package failed: $(log_tail "$log")"
  local dsc
  dsc=$(ls "$work"/src/kubernetes_*.dsc)
  grep -qE "^Version: ${SOURCE_VERSION_RE#^}" "$dsc" ||
    die "$dsc is not Kubernetes $VERSION ($(grep '^Version:' "$dsc")); this script builds $VERSION only"
  (cd "$work/src" && dpkg-source -x "$dsc" tree) >>"$log" 2>&1 || die "unpacking $dsc failed: $(log_tail "$log")"

  # Go >= 1.18 makes the vendored reflect2 1.0.1 / json-iterator 1.1.10 panic on the first Deployment
  # write (clients see an HTTP/2 INTERNAL_ERROR): use Debian's newer sources of both instead.
  local tree=$work/src/tree pkg
  for pkg in github.com/modern-go/reflect2 github.com/json-iterator/go; do
    [ -d "/usr/share/gocode/src/$pkg" ] || die "/usr/share/gocode/src/$pkg is missing (its Debian -dev package)"
    rm -rf "${tree:?}/vendor/$pkg"
    mkdir -p "$tree/vendor/$pkg"
    rsync -a --exclude '*_test.go' "/usr/share/gocode/src/$pkg/" "$tree/vendor/$pkg/"
  done

  # As debian/rules does: GOPATH mode through a symlink, generated files (OpenAPI) first.
  mkdir -p "$tree/.go/src/k8s.io"
  ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
  local step
  for step in generated_files cmd/kube-apiserver cmd/kube-controller-manager; do
    local args=(generated_files) t0
    [ "$step" = generated_files ] || args=("WHAT=$step" GOFLAGS=-tags=providerless)
    t0=$(date +%s)
    (cd "$tree/.go/src/k8s.io/kubernetes" &&
      env GOPATH="$tree/.go" GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0 KUBE_GIT_VERSION=$VERSION \
        HOME="$work/home" nice -n 10 make "${args[@]}") >>"$log" 2>&1 ||
      die "make ${args[*]} failed (Debian's Go: $(go version)): $(log_tail "$log" 12)"
    say "  make ${args[*]}: $(($(date +%s) - t0)) s"
  done
  mkdir -p "$K8S/$VERSION/bin.new"
  cp "$tree/_output/bin/kube-apiserver" "$tree/_output/bin/kube-controller-manager" "$K8S/$VERSION/bin.new/"
  {
    echo "built $(date -u +%FT%TZ) in $(($(date +%s) - started)) s"
    grep '^Version:' "$dsc"
    go version
    echo "vendor replaced: reflect2 $(dpkg-query -W -f '${Version}' golang-github-modern-go-reflect2-dev)," \
      "json-iterator $(dpkg-query -W -f '${Version}' golang-github-json-iterator-go-dev)"
  } >"$K8S/$VERSION/BUILD-INFO"
  rm -rf "$BIN" && mv "$K8S/$VERSION/bin.new" "$BIN"
  rm -rf "$work" # the source tree, 1.5 GB once built, 0.9 GB of it the Go build cache (_output/local/go/cache)
  say "built $VERSION in $(($(date +%s) - started)) s: $BIN ($(du -sh "$BIN" | cut -f1))"
}

# --- Certificates, keys, tokens, kubeconfig --------------------------------------------------
make_pki() {
  [ -s "$PKI/ca.crt" ] && [ -s "$PKI/apiserver.crt" ] && [ -s "$PKI/sa.key" ] && [ -s "$K8S/tokens.csv" ] && return 0
  say "creating a CA, the apiserver's serving certificate, service-account keys and tokens in $PKI"
  # New keys invalidate every token kept in etcd: start that from scratch too.
  rm -rf "$PKI" "$K8S/etcd"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  local log=$STATE/log/kubernetes-pki.log
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sysconfig-test-kubernetes-ca" \
      -keyout "$PKI/ca.key" -out "$PKI/ca.crt"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$PKI/apiserver.key" \
      -out "$PKI/apiserver.csr"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' \
      "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      >"$PKI/apiserver.ext"
    openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
      -days 3650 -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt"
    openssl genrsa -out "$PKI/sa.key" 2048
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
  } >"$log" 2>&1 || die "openssl failed creating the control plane's certificates: $(log_tail "$log")"
  local admin cm
  admin=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  cm=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  (umask 077 && printf '%s\n' "$admin" >"$K8S/admin.token")
  (umask 077 && printf '%s,admin,admin,system:masters\n%s,system:kube-controller-manager,kube-controller-manager\n' \
    "$admin" "$cm" >"$K8S/tokens.csv")
  write_kubeconfig "$K8S/admin.kubeconfig" admin "$admin"
  write_kubeconfig "$K8S/controller-manager.kubeconfig" kube-controller-manager "$cm"
}

write_kubeconfig() { # write_kubeconfig FILE USER TOKEN
  (umask 077 && cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: sysconfig-test
    cluster:
      server: $API
      certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
  - name: $2
    user:
      token: $3
contexts:
  - name: sysconfig-test
    context:
      cluster: sysconfig-test
      user: $2
      namespace: default
current-context: sysconfig-test
EOF
  )
}

api_get() { curl -sf --max-time 5 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(cat "$K8S/admin.token")" "$API$1"; }
api_ready() { [ "$(api_get /readyz 2>/dev/null)" = ok ]; }
etcd_ready() { curl -sf --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
default_token_ready() { api_get /api/v1/namespaces/default/serviceaccounts/default | grep -q '"secrets"'; }
cm_ready() { [ "$(curl -sk --max-time 3 "https://127.0.0.1:$CM_PORT/healthz")" = ok ]; }

start_daemon() { # start_daemon NAME COMMAND...: detached from the caller's session, pid file, log
  local name=$1
  shift
  # fd 9 holds this script's lock: the daemon must not keep it.
  setsid nohup "$@" >"$STATE/log/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/run/$name.pid"
}

# --- Start -------------------------------------------------------------------------------------
start() {
  mkdir -p "$K8S" "$STATE/run" "$STATE/log"
  install_packages etcd-server openssl curl
  build
  make_pki

  if etcd_ready; then
    say "etcd 127.0.0.1:$ETCD_PORT: already answering (reused)"
  else
    port_listening $ETCD_PORT && die "127.0.0.1:$ETCD_PORT is taken by something that is not a healthy etcd; free it"
    mkdir -p "$K8S/etcd" && chmod 700 "$K8S/etcd"
    start_daemon etcd etcd --name sysconfig --data-dir "$K8S/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "sysconfig=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn
    wait_for 30 etcd_ready ||
      die "etcd did not become healthy on 127.0.0.1:$ETCD_PORT within 30 s; log: $(log_tail "$STATE/log/etcd.log")"
    say "etcd 127.0.0.1:$ETCD_PORT: started ($(etcd --version | head -n 1))"
  fi

  if api_ready; then
    say "kube-apiserver $API: already ready (reused)"
  else
    if port_listening $API_PORT && ! pid_alive kube-apiserver; then
      die "127.0.0.1:$API_PORT is taken by something that is not this control plane's kube-apiserver; free it"
    fi
    pid_alive kube-apiserver || start_daemon kube-apiserver "$BIN/kube-apiserver" \
      --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port $API_PORT --insecure-port 0 \
      --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
      --client-ca-file "$PKI/ca.crt" --token-auth-file "$K8S/tokens.csv" \
      --authorization-mode RBAC \
      --service-account-issuer "$ISSUER" --service-account-key-file "$PKI/sa.pub" \
      --service-account-signing-key-file "$PKI/sa.key" \
      --service-cluster-ip-range "$SERVICE_RANGE" --endpoint-reconciler-type none \
      --disable-admission-plugins MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
      --allow-privileged=true --profiling=false --logtostderr --v 0
    wait_for 60 api_ready || die "kube-apiserver did not report /readyz ok on $API within 60 s;" \
      "log: $(log_tail "$STATE/log/kube-apiserver.log")"
    say "kube-apiserver $API: started ($VERSION)"
  fi

  if cm_ready; then
    say "kube-controller-manager 127.0.0.1:$CM_PORT: already healthy (reused)"
  else
    if port_listening $CM_PORT && ! pid_alive kube-controller-manager; then
      die "127.0.0.1:$CM_PORT is taken by something that is not this control plane's kube-controller-manager; free it"
    fi
    mkdir -p "$K8S/controller-manager"
    pid_alive kube-controller-manager || start_daemon kube-controller-manager "$BIN/kube-controller-manager" \
      --kubeconfig "$K8S/controller-manager.kubeconfig" \
      --authentication-kubeconfig "$K8S/controller-manager.kubeconfig" \
      --authorization-kubeconfig "$K8S/controller-manager.kubeconfig" \
      --bind-address 127.0.0.1 --secure-port $CM_PORT --port 0 --cert-dir "$K8S/controller-manager" \
      --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
      --use-service-account-credentials --leader-elect=false \
      --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
      --kube-api-qps 100 --kube-api-burst 200 --profiling=false --logtostderr --v 0
    wait_for 60 cm_ready || die "kube-controller-manager did not report /healthz ok on 127.0.0.1:$CM_PORT within 60 s;" \
      "log: $(log_tail "$STATE/log/kube-controller-manager.log")"
    say "kube-controller-manager 127.0.0.1:$CM_PORT: started"
  fi

  # The controller-manager is working once the default service account has its token Secret.
  wait_for 60 default_token_ready ||
    die "kube-controller-manager did not create the default service account's token within 60 s;" \
      "log: $(log_tail "$STATE/log/kube-controller-manager.log")"
}

mkdir -p "$K8S" "$STATE/run" "$STATE/log"
case "${1:-start}" in
  stop) stop_all ;;
  build | start)
    [ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages); run: sudo bash scripts/services.sh kubernetes"
    exec 9>"$K8S/.lock"
    flock 9
    if [ "${1:-start}" = build ]; then build; else start; fi
    ;;
  *) die "unknown command '$1': use start, build or stop" ;;
esac
