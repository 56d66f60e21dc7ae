#!/usr/bin/env bash
# Builds containerd 2.x and runc from Go modules fetched through the machine's GOPROXY, for
# the node images of Kubernetes >= 1.36 (Debian bookworm's containerd 1.6 is outside what
# Kubernetes 1.36 supports).
#
#   containerd: containerd containerd-shim-runc-v2 ctr   (github.com/containerd/containerd/v2, CGO off)
#   runc:       runc                                  (github.com/opencontainers/runc, CGO on: its
#               nsenter is C; static-pie with seccomp, against Debian's libseccomp-dev unpacked
#               with `apt-get download` + `dpkg -x`: nothing is installed on this machine)
#
# Usage: build.sh OUTPUT_DIR
#
# Versions come from versions.env next to this script (CONTAINERD_VERSION, RUNC_VERSION); the
# environment overrides them. Content-addressed like binaries/build.sh: a stamp per component
# (hash of this script, its version, the Go version, GOARCH and, for runc, libseccomp's
# version) in OUTPUT_DIR/.stamps; a matching stamp with its binaries present means skip.
# When a module's go.mod needs a newer Go than the local one, GOTOOLCHAIN is set to that
# version for its build (the module proxy serves golang.org/toolchain).
#
# Output: OUTPUT_DIR/bin/{containerd,containerd-shim-runc-v2,ctr,runc}, OUTPUT_DIR/versions.env,
# OUTPUT_DIR/build.log.
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
[[ $# == 1 ]] || { sed -n '2,/^set -Eeuo/p' "$SCRIPT" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
mkdir -p "$1/bin" "$1/.stamps" "$1/.src"
OUT=$(cd "$1" && pwd)
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
trap 'rc=$?; echo "containerd/runc build failed (exit $rc) at line $LINENO; last lines of $LOG:" >&2; tail -n 30 "$LOG" >&2; exit $rc' ERR

if command -v flock >/dev/null 2>&1; then
  exec 9>"$OUT/.lock"
  flock 9
fi

while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ ^[[:space:]]*(CONTAINERD_VERSION|RUNC_VERSION)=([^#[:space:]]*) ]] || continue
  [[ -n ${!BASH_REMATCH[1]+set} ]] || export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
done <"$SCRIPT_DIR/versions.env"
CONTAINERD_VERSION=v${CONTAINERD_VERSION#v}
RUNC_VERSION=v${RUNC_VERSION#v}
[[ $CONTAINERD_VERSION =~ ^v2\.[0-9]+\.[0-9]+$ ]] || die "CONTAINERD_VERSION must be a containerd 2 release such as v2.3.7, got '$CONTAINERD_VERSION'"
[[ $RUNC_VERSION =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "RUNC_VERSION must look like v1.5.2, got '$RUNC_VERSION'"

GO=${GO:-$(command -v go || true)}
[[ -n $GO ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
[[ -n $GO ]] || die "no Go toolchain found (set GO=/path/to/go)"
export GOWORK=off GOOS=linux GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -buildvcs=false"
GOARCH=${GOARCH:-$("$GO" env GOARCH)}
export GOARCH
LOCAL_GO=$(GOTOOLCHAIN=local "$GO" env GOVERSION)

# module_dir MODULE@VERSION: the module's directory in the module cache (downloaded if needed)
module_dir() {
  local json
  json=$(cd "$OUT/.src" && "$GO" mod download -json "$1" 2>>"$LOG") || die "the Go module proxy did not serve $1 (see $LOG)"
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json" | head -n1
}
# toolchain_for GOMOD: the GOTOOLCHAIN a module needs ("" when the local Go is new enough)
toolchain_for() {
  local need
  need=$(awk '$1 == "go" { print $2; exit }' "$1")
  [[ -n $need ]] || return 0
  [[ $(printf '%s\n%s\n' "${LOCAL_GO#go}" "$need" | sort -V | head -n1) == "$need" ]] || echo "go$need"
}
# copy_module MODULE@VERSION DEST: a writable copy of the module, built as the main module
copy_module() {
  local dir
  dir=$(module_dir "$1")
  [[ -d $dir ]] || die "no module directory for $1"
  rm -rf "$2" && cp -r "$dir" "$2" && chmod -R u+w "$2"
}
sha() { sha256sum | cut -c1-32; }
inputs_hash() { { echo "$1 go=$LOCAL_GO ${GOTOOLCHAIN:-} goarch=$GOARCH $2"; sha256sum <"$SCRIPT"; } | sha; }
up_to_date() {
  local c=$1 key=$2 b
  shift 2
  [[ -f $OUT/.stamps/$c && $(cat "$OUT/.stamps/$c") == "$key" ]] || return 1
  for b in "$@"; do [[ -s $BIN/$b ]] || return 1; done
}
build_one() {
  local name=$1 dir=$2 pkg=$3 t0=$SECONDS
  shift 3
  say "building $name"
  echo "+ (cd $dir && GOTOOLCHAIN=${GOTOOLCHAIN:-} CGO_ENABLED=${CGO_ENABLED:-} $GO build $* -o $BIN/.$name.tmp $pkg)" >>"$LOG"
  (cd "$dir" && "$GO" build -trimpath "$@" -o "$BIN/.$name.tmp" "$pkg") >>"$LOG" 2>&1 || die "go build of $name failed (see $LOG)"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  say "built $name in $((SECONDS - t0))s ($(stat -c %s "$BIN/$name") bytes)"
}

say "output $OUT; containerd $CONTAINERD_VERSION, runc $RUNC_VERSION; local $LOCAL_GO linux/$GOARCH"

# --- containerd ----------------------------------------------------------------------------
SRC=$OUT/.src/containerd
copy_module "github.com/containerd/containerd/v2@$CONTAINERD_VERSION" "$SRC"
TC=$(toolchain_for "$SRC/go.mod")
KEY=$(GOTOOLCHAIN=$TC inputs_hash containerd "$CONTAINERD_VERSION")
if up_to_date containerd "$KEY" containerd containerd-shim-runc-v2 ctr; then
  say "containerd: up to date, skipping"
else
  [[ -z $TC ]] || say "containerd $CONTAINERD_VERSION needs $TC (local $LOCAL_GO): GOTOOLCHAIN=$TC"
  LD="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION -X github.com/containerd/containerd/v2/version.Revision=module-$CONTAINERD_VERSION -extldflags -static"
  export GOTOOLCHAIN=${TC:-local} CGO_ENABLED=0
  # the shim carries no gRPC server (upstream's SHIM_CGO_ENABLED=0 + no_grpc); btrfs needs cgo
  build_one containerd-shim-runc-v2 "$SRC" ./cmd/containerd-shim-runc-v2 -tags "urfave_cli_no_docs no_grpc osusergo netgo" -ldflags "$LD"
  build_one containerd "$SRC" ./cmd/containerd -tags "urfave_cli_no_docs no_btrfs no_devmapper no_zfs osusergo netgo" -ldflags "$LD"
  build_one ctr "$SRC" ./cmd/ctr -tags "urfave_cli_no_docs osusergo netgo" -ldflags "$LD"
  echo "$KEY" >"$OUT/.stamps/containerd"
fi
rm -rf "$SRC"

# --- runc ----------------------------------------------------------------------------------
SRC=$OUT/.src/runc
copy_module "github.com/opencontainers/runc@$RUNC_VERSION" "$SRC"
TC=$(toolchain_for "$SRC/go.mod")
command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "runc needs libseccomp's static library: apt-get and dpkg (Debian) are required"
seccomp_candidate() { apt-cache policy libseccomp-dev 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
SECCOMP=$(seccomp_candidate)
if [[ -z $SECCOMP || $SECCOMP == "(none)" ]]; then
  # a fresh machine may have no apt lists yet (as the image factory does: update once)
  say "apt lists know no libseccomp-dev: apt-get update"
  apt-get update -qq >>"$LOG" 2>&1 || say "apt-get update failed (see $LOG)"
  SECCOMP=$(seccomp_candidate)
fi
[[ -n $SECCOMP && $SECCOMP != "(none)" ]] || die "apt knows no libseccomp-dev (check the machine's apt sources; run apt-get update)"
KEY=$(GOTOOLCHAIN=$TC inputs_hash runc "$RUNC_VERSION libseccomp-dev=$SECCOMP $(gcc --version | head -n1)")
if up_to_date runc "$KEY" runc; then
  say "runc: up to date, skipping"
else
  # kept (keyed by its version) and named explicitly in CGO_CFLAGS/CGO_LDFLAGS, which are part
  # of Go's build cache keys: a cached cgo package never links against a path that is gone
  DEBS=$OUT/libseccomp-$SECCOMP
  if [[ ! -f $DEBS/.done ]]; then
    rm -rf "$DEBS" && mkdir -p "$DEBS/root"
    say "libseccomp-dev $SECCOMP (apt-get download, unpacked, not installed)"
    (cd "$DEBS" && apt-get download "libseccomp-dev=$SECCOMP") >>"$LOG" 2>&1 || die "apt-get download libseccomp-dev failed (see $LOG)"
    dpkg -x "$DEBS"/libseccomp-dev_*.deb "$DEBS/root"
    touch "$DEBS/.done"
  fi
  LIB=$(dirname "$(find "$DEBS/root" -name libseccomp.a | head -n1)")
  [[ -f $LIB/libseccomp.a && -f $DEBS/root/usr/include/seccomp.h ]] || die "libseccomp-dev has no libseccomp.a or seccomp.h"
  export GOTOOLCHAIN=${TC:-local} CGO_ENABLED=1 PKG_CONFIG_PATH=$LIB/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEBS/root
  export CGO_CFLAGS="-I$DEBS/root/usr/include" CGO_LDFLAGS="-L$LIB"
  # libpathrs (upstream's default tag) is a Rust library Debian bookworm lacks: left out
  build_one runc "$SRC" . -buildmode=pie -tags "seccomp urfave_cli_no_docs netgo osusergo" \
    -ldflags "-s -w -X main.gitCommit=module-$RUNC_VERSION -linkmode external -extldflags -static-pie"
  unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR CGO_CFLAGS CGO_LDFLAGS
  echo "$KEY" >"$OUT/.stamps/runc"
fi
rm -rf "$SRC"

printf 'CONTAINERD_VERSION=%s\nRUNC_VERSION=%s\nGOARCH=%s\n' "$CONTAINERD_VERSION" "$RUNC_VERSION" "$GOARCH" >"$OUT/versions.env"
"$BIN/containerd" --version >>"$LOG" 2>&1 || die "the built containerd does not run"
"$BIN/runc" --version >>"$LOG" 2>&1 || die "the built runc does not run"
say "all done in $((SECONDS - START))s; binaries in $BIN"
