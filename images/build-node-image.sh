#!/usr/bin/env bash
# Builds the local-cluster node image offline: Kubernetes binaries from Go modules,
# a Debian root filesystem, the images kubeadm expects, all assembled into IMAGE_REF.
# Each stage is content-addressed and skipped when its inputs did not change.
#
# Usage: build-node-image.sh CACHE_DIR IMAGE_REF
# Environment: KUBERNETES_VERSION (default: binaries/versions.env), DEBIAN_MIRROR (default:
# the host's apt configuration).
set -Eeuo pipefail
[[ $# == 2 ]] || { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
CACHE=$1
IMAGE_REF=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=binaries/versions.env
source "$HERE/binaries/versions.env"
KUBERNETES_VERSION=${KUBERNETES_VERSION_OVERRIDE:-$KUBERNETES_VERSION}
export KUBERNETES_VERSION
mkdir -p "$CACHE"
echo "==> stage 1/3: Kubernetes $KUBERNETES_VERSION binaries"
bash "$HERE/binaries/build.sh" "$CACHE/binaries/$KUBERNETES_VERSION"
echo "==> stage 2/3: Debian root filesystem"
bash "$HERE/node/build-rootfs.sh" "$CACHE/rootfs"
echo "==> stage 3/3: node image $IMAGE_REF"
PRELOAD_CACHE="$CACHE/preload" WORK_DIR="$CACHE/work" bash "$HERE/node/assemble.sh" "$CACHE/rootfs/rootfs.tar" "$CACHE/binaries/$KUBERNETES_VERSION" "$IMAGE_REF"
