#!/usr/bin/env bash
# Builds the binaries a local-cluster node needs, from Go modules fetched through the
# machine's configured GOPROXY (nothing is pulled from a container registry):
#
#   kubernetes: kubelet kubeadm kubectl kube-apiserver kube-controller-manager
#               kube-scheduler kube-proxy          (k8s.io/kubernetes, wrapper module)
#   etcd:       etcd [etcdctl etcdutl]            (go.etcd.io/etcd/*/v3, wrapper module)
#   coredns:    coredns                           (github.com/coredns/coredns)
#   pause:      pause                             (pause/pause.c, gcc -static; Go fallback)
#
# Usage: build.sh OUTPUT_DIR [COMPONENT...]      COMPONENT: kubernetes etcd coredns pause
#
# Versions come from versions.env next to this script; any of them can be overridden from
# the environment (KUBERNETES_VERSION, ETCD_VERSION, COREDNS_VERSION, PAUSE_VERSION,
# optionally KUBERNETES_GIT_COMMIT). GOARCH selects the target architecture (default: the
# Go toolchain's); GOOS is always linux.
#
# Content-addressed: each component has a stamp (hash of this script, its versions, its
# sources, the Go version and GOARCH) in OUTPUT_DIR/.stamps; a component whose stamp matches
# and whose binaries exist is skipped. Go's module and build caches stay in their default
# places, so a rebuild after a version change only compiles what changed.
#
# Output layout:
#   OUTPUT_DIR/bin/<binary>          the binaries (static, stripped)
#   OUTPUT_DIR/versions.env          the effective versions of this build
#   OUTPUT_DIR/kubeadm-images.txt    `kubeadm config images list` for KUBERNETES_VERSION
#   OUTPUT_DIR/SHA256SUMS            checksums of bin/*
#   OUTPUT_DIR/build.log             full log (all runs, appended)
#   OUTPUT_DIR/.stamps/, .src/       input hashes; generated wrapper modules
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
ALL_COMPONENTS=(kubernetes etcd coredns pause)
K8S_BINARIES=(kubeadm kubectl kubelet kube-proxy kube-scheduler kube-controller-manager kube-apiserver)
# etcdctl and etcdutl too when the proxy serves etcdutl (build_etcd)
ETCD_BINARIES=(etcd)
# Build tags Kubernetes' own release build uses (hack/lib/golang.sh).
K8S_TAGS=selinux,notest,grpcnotrace

usage() {
  sed -n '2,/^set -Eeuo/p' "$SCRIPT" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}

[[ $# -ge 1 ]] || usage 2
case $1 in -h|--help) usage 0 ;; esac
OUT=$1
shift
COMPONENTS=("$@")
[[ ${#COMPONENTS[@]} -gt 0 ]] || COMPONENTS=("${ALL_COMPONENTS[@]}")
for c in "${COMPONENTS[@]}"; do
  [[ " ${ALL_COMPONENTS[*]} " == *" $c "* ]] || { echo "unknown component: $c" >&2; usage 2; }
done

mkdir -p "$OUT/bin" "$OUT/.stamps" "$OUT/.src"
OUT=$(cd "$OUT" && pwd)
BIN=$OUT/bin
LOG=$OUT/build.log
START=$SECONDS

say() {
  local line
  line=$(printf '[%5ds] %s' "$((SECONDS - START))" "$*")
  echo "$line"
  echo "$(date -u +%FT%TZ) $line" >>"$LOG"
}
die() { say "ERROR: $*"; exit 1; }
on_error() {
  local rc=$?
  echo "build failed (exit $rc) at line ${BASH_LINENO[0]}; last lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2 || true
  exit "$rc"
}
trap on_error ERR

# One build per output directory at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$OUT/.lock"
  flock 9
fi

# --- versions ------------------------------------------------------------------------------
VERSION_KEYS=(KUBERNETES_VERSION ETCD_VERSION COREDNS_VERSION PAUSE_VERSION KUBERNETES_GIT_COMMIT)
while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ ^[[:space:]]*([A-Z_][A-Z0-9_]*)=[\"\']?([^\"\'#[:space:]]*) ]] || continue
  key=${BASH_REMATCH[1]}
  [[ " ${VERSION_KEYS[*]} " == *" $key "* ]] || continue
  [[ -n ${!key+set} ]] || export "$key=${BASH_REMATCH[2]}"
done <"$SCRIPT_DIR/versions.env"
KUBERNETES_GIT_COMMIT=${KUBERNETES_GIT_COMMIT:-}

KUBERNETES_VERSION=v${KUBERNETES_VERSION#v}
ETCD_VERSION=${ETCD_VERSION#v}
COREDNS_VERSION=v${COREDNS_VERSION#v}
PAUSE_VERSION=${PAUSE_VERSION#v}
[[ $KUBERNETES_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.-]+)?$ ]] ||
  die "KUBERNETES_VERSION must look like v1.34.4, got '$KUBERNETES_VERSION'"
K8S_MINOR=${BASH_REMATCH[1]}
# Staging modules (k8s.io/api, k8s.io/client-go, ...) are tagged v0.<minor>.<patch>.
K8S_STAGING_VERSION=v0.${KUBERNETES_VERSION#v1.}
[[ $ETCD_VERSION =~ ^3\.[0-9]+\.[0-9]+$ ]] || die "ETCD_VERSION must look like 3.6.5, got '$ETCD_VERSION'"
[[ $COREDNS_VERSION =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "COREDNS_VERSION must look like v1.12.1, got '$COREDNS_VERSION'"
[[ $PAUSE_VERSION =~ ^[0-9][0-9A-Za-z.-]*$ ]] || die "PAUSE_VERSION must look like 3.10.1, got '$PAUSE_VERSION'"

# --- Go ------------------------------------------------------------------------------------
GO=${GO:-$(command -v go || true)}
[[ -n $GO ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
[[ -n $GO ]] || die "no Go toolchain found (set GO=/path/to/go)"
export GOWORK=off GOOS=linux CGO_ENABLED=0
GOARCH=${GOARCH:-$("$GO" env GOARCH)}
export GOARCH
GO_VERSION=$("$GO" env GOVERSION)
case $(uname -m) in
  x86_64) HOST_ARCH=amd64 ;; aarch64|arm64) HOST_ARCH=arm64 ;; *) HOST_ARCH=$(uname -m) ;;
esac
CAN_RUN=false
[[ $(uname -s) == Linux && $HOST_ARCH == "$GOARCH" ]] && CAN_RUN=true
GOBUILD=("$GO" build -trimpath -buildvcs=false)

# --- content addressing --------------------------------------------------------------------
sha() { sha256sum | cut -c1-32; }
inputs_hash() {
  {
    echo "component=$1 go=$GO_VERSION goarch=$GOARCH"
    sha256sum <"$SCRIPT"
    case $1 in
      kubernetes) echo "$KUBERNETES_VERSION commit=$KUBERNETES_GIT_COMMIT" ;;
      etcd) echo "$ETCD_VERSION" ;;
      coredns) echo "$COREDNS_VERSION" ;;
      pause)
        echo "$PAUSE_VERSION impl=${PAUSE_IMPL:-c}"
        cat "$SCRIPT_DIR/pause/pause.c" "$SCRIPT_DIR/pause/pause.go"
        { ${CC:-gcc} --version 2>/dev/null || true; } | head -n1
        ;;
    esac
  } | sha
}
binaries_of() {
  case $1 in
    kubernetes) echo "${K8S_BINARIES[@]}" ;;
    etcd) echo "${ETCD_BINARIES[@]}" ;;
    coredns) echo coredns ;;
    pause) echo pause ;;
  esac
}
up_to_date() {
  local c=$1 b
  [[ -f $OUT/.stamps/$c && $(cat "$OUT/.stamps/$c") == "$(inputs_hash "$c")" ]] || return 1
  for b in $(binaries_of "$c"); do [[ -s $BIN/$b ]] || return 1; done
}

# --- helpers -------------------------------------------------------------------------------
# Prints a field of `go mod download -json MODULE@VERSION` (downloads the module if needed).
mod_field() {
  local json
  json=$(cd "$OUT/.src" && "$GO" mod download -json "$1" 2>>"$LOG") || die "cannot download $1 (see $LOG)"
  sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\{0,1\}$/\\1/p" <<<"$json" | head -n1
}
# Writes tools.go importing the given main packages, so `go mod tidy` keeps their deps.
write_tools_go() {
  local dir=$1 p
  shift
  { echo '//go:build tools'; echo; echo 'package tools'; echo; echo 'import ('
    for p in "$@"; do echo "	_ \"$p\""; done
    echo ')'; } >"$dir/tools.go"
}
human_size() { numfmt --to=iec --suffix=B "$(stat -c %s "$1")" 2>/dev/null || stat -c %s "$1"; }
# build_one NAME DIR PACKAGE [go build flags...]: builds into bin/NAME atomically.
build_one() {
  local name=$1 dir=$2 pkg=$3 t0=$SECONDS
  shift 3
  say "building $name ($pkg)"
  echo "+ (cd $dir && ${GOBUILD[*]} $* -o $BIN/.$name.tmp $pkg)" >>"$LOG"
  (cd "$dir" && "${GOBUILD[@]}" "$@" -o "$BIN/.$name.tmp" "$pkg") >>"$LOG" 2>&1 ||
    die "go build of $name failed (see $LOG)"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  say "built $name in $((SECONDS - t0))s ($(human_size "$BIN/$name"))"
}
# wrapper_module DIR NAME GOMOD TITLE REQUIREMENT...: writes DIR/go.mod of module localcluster/NAME
# requiring each "path version" REQUIREMENT, with the go directive of GOMOD (the built module's).
wrapper_module() {
  local dir=$1 name=$2 gomod=$3 title=$4 r
  shift 4
  rm -rf "$dir" && mkdir -p "$dir"
  {
    echo "// Generated by images/binaries/build.sh: builds $title."
    echo "module localcluster/$name"
    echo
    awk '$1 == "go" { print; exit }' "$gomod"
    echo
    echo "require ("
    for r in "$@"; do echo "	$r"; done
    echo ")"
  } >"$dir/go.mod"
}
# tidy DIR: resolves the wrapper module's dependency graph.
tidy() {
  local t0=$SECONDS
  say "resolving modules in $1"
  (cd "$1" && "$GO" mod tidy) >>"$LOG" 2>&1 || die "go mod tidy in $1 failed (see $LOG)"
  say "modules resolved in $((SECONDS - t0))s"
}

# --- components ----------------------------------------------------------------------------
build_kubernetes() {
  local src=$OUT/.src/kubernetes gomod info build_date ld pkg m b
  gomod=$(mod_field "k8s.io/kubernetes@$KUBERNETES_VERSION" GoMod)
  info=$(mod_field "k8s.io/kubernetes@$KUBERNETES_VERSION" Info)
  [[ -f $gomod && -f $info ]] || die "k8s.io/kubernetes@$KUBERNETES_VERSION not available"
  # buildDate = the release's commit time, so identical inputs give identical binaries.
  build_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")
  [[ -n $build_date ]] || build_date=1970-01-01T00:00:00Z

  wrapper_module "$src" kubernetes-binaries "$gomod" "k8s.io/kubernetes $KUBERNETES_VERSION" "k8s.io/kubernetes $KUBERNETES_VERSION"
  {
    echo
    # Kubernetes' own runtime GODEBUG defaults (single-line or block form).
    awk '/^godebug \(/ { b = 1 } b || /^godebug / { print } b && /^\)/ { b = 0 }' "$gomod"
    echo
    echo "replace ("
    # Every staging module (required at v0.0.0, replaced by ./staging/src/... upstream).
    for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod"); do
      echo "	$m => $m $K8S_STAGING_VERSION"
    done
    echo ")"
  } >>"$src/go.mod"
  grep -q '=> k8s.io/api ' "$src/go.mod" || die "found no staging modules in $gomod"
  local pkgs=()
  for b in "${K8S_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  write_tools_go "$src" "${pkgs[@]}"
  tidy "$src"

  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
    ld+=" -X $pkg.gitCommit=$KUBERNETES_GIT_COMMIT -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  for b in "${K8S_BINARIES[@]}"; do
    build_one "$b" "$src" "k8s.io/kubernetes/cmd/$b" -tags="$K8S_TAGS" -ldflags="$ld"
  done
}

build_etcd() {
  local src=$OUT/.src/etcd gomod tools=(server) mods=() pkgs=() t
  gomod=$(mod_field "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" GoMod)
  # etcdctl and etcdutl are optional: neither kubeadm nor the kubelet runs them, and some proxies
  # do not serve every etcdutl release (v3.5.24, for Kubernetes v1.33), which etcdctl v3.5 imports
  if (cd "$OUT/.src" && "$GO" mod download -json "go.etcd.io/etcd/etcdutl/v3@v$ETCD_VERSION" >/dev/null 2>>"$LOG"); then
    tools+=(etcdctl etcdutl)
  else
    say "etcd: the Go module proxy does not serve go.etcd.io/etcd/etcdutl/v3@v$ETCD_VERSION; the etcd image gets the etcd server only (no etcdctl, etcdutl)"
    rm -f "$BIN/etcdctl" "$BIN/etcdutl"
  fi
  for t in "${tools[@]}"; do
    mods+=("go.etcd.io/etcd/$t/v3 v$ETCD_VERSION")
    pkgs+=("go.etcd.io/etcd/$t/v3")
  done
  wrapper_module "$src" etcd-binaries "$gomod" "etcd v$ETCD_VERSION" "${mods[@]}"
  write_tools_go "$src" "${pkgs[@]}"
  tidy "$src"
  # the server's binary is etcd; the tools are named after their modules
  for t in "${tools[@]}"; do build_one "${t/#server/etcd}" "$src" "go.etcd.io/etcd/$t/v3" -ldflags="-s -w"; done
}

build_coredns() {
  local src=$OUT/.src/coredns gomod
  gomod=$(mod_field "github.com/coredns/coredns@$COREDNS_VERSION" GoMod)
  wrapper_module "$src" coredns-binaries "$gomod" "CoreDNS $COREDNS_VERSION" "github.com/coredns/coredns $COREDNS_VERSION"
  write_tools_go "$src" github.com/coredns/coredns
  tidy "$src"
  build_one coredns "$src" github.com/coredns/coredns -ldflags="-s -w"
}

build_pause() {
  local src=$OUT/.src/pause cc=${CC:-gcc} t0=$SECONDS
  rm -rf "$src" && mkdir -p "$src"
  if [[ ${PAUSE_IMPL:-c} == c ]] && $CAN_RUN && command -v "$cc" >/dev/null 2>&1; then
    say "building pause (pause/pause.c, $cc -static)"
    if "$cc" -Os -static -s -Wall -Werror -DVERSION="\"$PAUSE_VERSION\"" \
        -o "$BIN/.pause.tmp" "$SCRIPT_DIR/pause/pause.c" >>"$LOG" 2>&1; then
      mv -f "$BIN/.pause.tmp" "$BIN/pause"
      say "built pause in $((SECONDS - t0))s ($(human_size "$BIN/pause"))"
      return
    fi
    say "static C build of pause failed (see $LOG); falling back to Go"
  fi
  cp "$SCRIPT_DIR/pause/pause.go" "$src/main.go"
  printf 'module localcluster/pause\n\ngo 1.21\n' >"$src/go.mod"
  build_one pause "$src" . -ldflags="-s -w -X main.version=$PAUSE_VERSION"
}

# --- main ----------------------------------------------------------------------------------
say "output $OUT; kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, coredns $COREDNS_VERSION," \
  "pause $PAUSE_VERSION; $GO_VERSION linux/$GOARCH"
built=()
for c in "${COMPONENTS[@]}"; do
  if up_to_date "$c"; then
    say "$c: up to date ($(cat "$OUT/.stamps/$c")), skipping"
    continue
  fi
  t0=$SECONDS
  rm -f "$OUT/.stamps/$c"
  say "$c: building"
  "build_$c"
  inputs_hash "$c" >"$OUT/.stamps/$c"
  say "$c: done in $((SECONDS - t0))s"
  built+=("$c")
done

# Record what this directory holds.
cat >"$OUT/versions.env" <<EOF
KUBERNETES_VERSION=$KUBERNETES_VERSION
ETCD_VERSION=$ETCD_VERSION
COREDNS_VERSION=$COREDNS_VERSION
PAUSE_VERSION=$PAUSE_VERSION
GOARCH=$GOARCH
EOF
if [[ ${#built[@]} -gt 0 || ! -f $OUT/SHA256SUMS ]]; then
  (cd "$BIN" && find . -maxdepth 1 -type f ! -name '.*' -printf '%f\n' | sort | xargs -r sha256sum) >"$OUT/SHA256SUMS"
fi

# What kubeadm will ask for; warn when the other pinned versions do not match it.
if $CAN_RUN && [[ -x $BIN/kubeadm ]]; then
  if [[ ${#built[@]} -gt 0 || ! -s $OUT/kubeadm-images.txt ]]; then
    "$BIN/kubeadm" config images list --kubernetes-version "$KUBERNETES_VERSION" \
      >"$OUT/kubeadm-images.txt" 2>>"$LOG" || say "warning: kubeadm config images list failed"
  fi
  grep -q "/etcd:$ETCD_VERSION-" "$OUT/kubeadm-images.txt" ||
    say "warning: kubeadm $KUBERNETES_VERSION expects $(grep /etcd: "$OUT/kubeadm-images.txt"), ETCD_VERSION=$ETCD_VERSION"
  grep -q "/coredns:$COREDNS_VERSION\$" "$OUT/kubeadm-images.txt" ||
    say "warning: kubeadm $KUBERNETES_VERSION expects $(grep /coredns: "$OUT/kubeadm-images.txt"), COREDNS_VERSION=$COREDNS_VERSION"
  grep -q "/pause:$PAUSE_VERSION\$" "$OUT/kubeadm-images.txt" ||
    say "warning: kubeadm $KUBERNETES_VERSION expects $(grep /pause: "$OUT/kubeadm-images.txt"), PAUSE_VERSION=$PAUSE_VERSION"
fi

say "all done in $((SECONDS - START))s (built: ${built[*]:-nothing}); binaries in $BIN"
