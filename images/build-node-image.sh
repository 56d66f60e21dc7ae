#!/usr/bin/env bash
# Builds the local-cluster node image offline from the programs the image factory built (every
# Go program goes through core's Go builder and binary cache: src/node-binaries.ts), a Debian
# root filesystem and the images kubeadm expects, all assembled into IMAGE_REF.
# Each stage is content-addressed and skipped when its inputs did not change.
#
# Usage: build-node-image.sh CACHE_DIR IMAGE_REF
# Environment: BINARIES_DIR (required: bin/*, versions.env and kubeadm-images.txt of the
# release, laid out by ensureNodeBinaries), IPTABLES_WRAPPER (the iptables wrapper script of
# @local-cluster/core, required), DEBIAN_MIRROR (default: the host's apt configuration),
# BIN_OVERRIDES (a directory whose bin/* replace the binaries built from modules: prebuilt,
# downloaded or built from a source tree).
set -Eeuo pipefail
[[ $# == 2 ]] || { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
CACHE=$1
IMAGE_REF=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -n ${BINARIES_DIR:-} && -x $BINARIES_DIR/bin/kubeadm ]] || { echo "BINARIES_DIR must hold the release's binaries (bin/kubeadm, ...)" >&2; exit 2; }
KUBERNETES_VERSION=$(sed -n 's/^KUBERNETES_VERSION=//p' "$BINARIES_DIR/versions.env")
mkdir -p "$CACHE"
echo "==> stage 1/3: Kubernetes $KUBERNETES_VERSION binaries (image factory): $BINARIES_DIR"
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
echo "==> stage 2/3: Debian root filesystem"
bash "$HERE/node/build-rootfs.sh" "$CACHE/rootfs"
echo "==> stage 3/3: node image $IMAGE_REF"
PRELOAD_CACHE="$CACHE/preload" WORK_DIR="$CACHE/work" bash "$HERE/node/assemble.sh" "$CACHE/rootfs/rootfs.tar" "$BINARIES" "$IMAGE_REF"
