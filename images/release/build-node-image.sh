#!/usr/bin/env bash
# Builds the node image of a Kubernetes release other than the default one of
# binaries/versions.env (which build-node-image.sh builds, unchanged, so its image and
# cache stay valid). Same stages, same scripts, plus:
#   - etcd, CoreDNS and pause at the versions this release's kubeadm asks for, and GOTOOLCHAIN
#     when the release's go.mod needs a newer Go than the local one (both decided, and the
#     programs built, by the image factory: src/node-binaries.ts);
#   - from Kubernetes 1.36 (CONTAINERD_MAJOR=2): containerd 2 and runc (built by the image
#     factory into CONTAINERD2_DIR) over Debian's 1.6 in the root filesystem, with a version 3
#     configuration (containerd2/config.toml) that the unit starts containerd with.
#
# Usage: build-node-image.sh CACHE_DIR IMAGE_REF
# Environment (required): BINARIES_DIR (bin/*, versions.env, kubeadm-images.txt of the
# release), CONTAINERD_MAJOR (1 or 2), IPTABLES_WRAPPER; CONTAINERD2_DIR (bin/containerd,
# containerd-shim-runc-v2, ctr, runc and versions.env) when CONTAINERD_MAJOR is 2.
# Optional: BIN_OVERRIDES, DEBIAN_MIRROR (as for build-node-image.sh).
set -Eeuo pipefail
[[ $# == 2 ]] || { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
CACHE=$1
IMAGE_REF=$2
IMAGES=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for v in BINARIES_DIR CONTAINERD_MAJOR IPTABLES_WRAPPER; do
  [[ -n ${!v:-} ]] || { echo "$v must be set" >&2; exit 2; }
done
[[ $CONTAINERD_MAJOR == 1 || $CONTAINERD_MAJOR == 2 ]] || { echo "CONTAINERD_MAJOR must be 1 or 2" >&2; exit 2; }
[[ $CONTAINERD_MAJOR == 1 || -x ${CONTAINERD2_DIR:-}/bin/containerd ]] || { echo "CONTAINERD2_DIR must hold containerd 2 and runc (bin/*)" >&2; exit 2; }
# shellcheck disable=SC1091 # written by ensureNodeBinaries
source "$BINARIES_DIR/versions.env"
STAGES=3
[[ $CONTAINERD_MAJOR == 1 ]] || STAGES=4
mkdir -p "$CACHE"

echo "==> stage 1/$STAGES: Kubernetes $KUBERNETES_VERSION binaries (etcd $ETCD_VERSION, CoreDNS $COREDNS_VERSION, pause $PAUSE_VERSION; image factory): $BINARIES_DIR"
BINARIES=$BINARIES_DIR
if [[ -n ${BIN_OVERRIDES:-} ]]; then
  KEY=$(cd "$BIN_OVERRIDES/bin" && sha256sum ./* | sha256sum | cut -c1-16)
  MERGED=$CACHE/merged/$KUBERNETES_VERSION-$KEY
  echo "==> using $(ls "$BIN_OVERRIDES/bin" | tr '\n' ' ')from $BIN_OVERRIDES"
  rm -rf "$MERGED"; mkdir -p "$MERGED"
  cp -a "$BINARIES/bin" "$BINARIES/versions.env" "$MERGED/"
  cp -f "$BIN_OVERRIDES"/bin/* "$MERGED/bin/"
  BINARIES=$MERGED
fi

echo "==> stage 2/$STAGES: Debian root filesystem"
bash "$IMAGES/node/build-rootfs.sh" "$CACHE/rootfs"
ROOTFS=$CACHE/rootfs/rootfs.tar

if [[ $CONTAINERD_MAJOR == 2 ]]; then
  C2=$CONTAINERD2_DIR
  echo "==> stage 3/$STAGES: containerd 2 and runc from Go modules (image factory): $C2"
  PAUSE_IMAGE=$(awk '$1 ~ /\/pause:/ { print $1 }' "$BINARIES/kubeadm-images.txt")
  [[ -n $PAUSE_IMAGE ]] || { echo "no pause image in $BINARIES/kubeadm-images.txt" >&2; exit 1; }
  # the root filesystem with containerd 2 in place of Debian's 1.6, keyed by its inputs
  KEY=$( { sha256sum "$ROOTFS" "$C2"/bin/* "$IMAGES"/containerd2/config.toml "$IMAGES"/containerd2/containerd.service.conf | awk '{ print $1 }'
           echo "$PAUSE_IMAGE"; sha256sum <"${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
  DERIVED=$CACHE/rootfs-containerd2/$KEY
  if [[ -s $DERIVED/rootfs.tar ]]; then
    echo "    root filesystem with containerd 2: cached in $DERIVED"
  else
    rm -rf "$CACHE/rootfs-containerd2"; mkdir -p "$DERIVED/root"
    R=$DERIVED/root
    tar --numeric-owner -xpf "$ROOTFS" -C "$R"
    for b in containerd containerd-shim-runc-v2 ctr; do install -m 0755 "$C2/bin/$b" "$R/usr/bin/$b"; done
    install -m 0755 "$C2/bin/runc" "$R/usr/sbin/runc"
    # Debian's containerd-shim / -shim-runc-v1 belong to 1.6 (containerd 2 has only the v2 shim)
    rm -f "$R/usr/bin/containerd-shim" "$R/usr/bin/containerd-shim-runc-v1"
    install -D -m 0644 "$IMAGES/containerd2/config.toml" "$R/etc/containerd/containerd2.toml"
    sed -i -E "s#^([[:space:]]*sandbox = ).*#\1\"$PAUSE_IMAGE\"#" "$R/etc/containerd/containerd2.toml"
    grep -q "sandbox = \"$PAUSE_IMAGE\"" "$R/etc/containerd/containerd2.toml"
    install -D -m 0644 "$IMAGES/containerd2/containerd.service.conf" "$R/etc/systemd/system/containerd.service.d/20-containerd2.conf"
    mkdir -p "$R/etc/local-cluster"
    cp "$C2/versions.env" "$R/etc/local-cluster/containerd.env"
    tar -C "$R" --numeric-owner --xattrs --xattrs-include='security.capability' --sort=name -cf "$DERIVED/rootfs.tar" .
    rm -rf --one-file-system "$R"
    echo "    root filesystem with containerd $(. "$C2/versions.env"; echo "$CONTAINERD_VERSION") and runc $(. "$C2/versions.env"; echo "$RUNC_VERSION"): $DERIVED/rootfs.tar"
  fi
  ROOTFS=$DERIVED/rootfs.tar
fi

echo "==> stage $STAGES/$STAGES: node image $IMAGE_REF"
PRELOAD_CACHE="$CACHE/preload" WORK_DIR="$CACHE/work-$KUBERNETES_VERSION" bash "$IMAGES/node/assemble.sh" "$ROOTFS" "$BINARIES" "$IMAGE_REF"
