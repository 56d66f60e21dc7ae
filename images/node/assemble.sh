#!/usr/bin/env bash
# Assembles a local-cluster node image without a Dockerfile or a registry:
#   rootfs.tar (build-rootfs.sh)
#   + images/node/files/ (containerd config, kubelet units, entrypoint)
#   + kubelet, kubeadm, kubectl from BINARIES_DIR/bin into /usr/bin
#   + the images kubeadm expects (build-preload-images.sh, one archive each), imported and
#     unpacked into the image's /var/lib/containerd here, with their layer blobs dropped: a
#     node's /var is a fresh volume that Docker fills from the image's /var when the node is
#     created, so nodes start with every image in containerd and import nothing at boot
# and loads the result into Docker as IMAGE_REF (one layer; see NODE_IMAGE_VIA below).
#
# Usage: assemble.sh ROOTFS_TAR BINARIES_DIR IMAGE_REF
#
# Environment: WORK_DIR (scratch space, default: a temporary directory next to ROOTFS_TAR),
# PRELOAD_CACHE (where built image archives are kept, keyed by their inputs; default
# <dir of ROOTFS_TAR>/preload-cache), NODE_IMAGE_VIA (load, default, or import). Must run as root (extracts a root filesystem, chroot, runs the image's containerd in a private mount namespace).
set -Eeuo pipefail

[[ $# == 3 ]] || { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
ROOTFS_TAR=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
BINARIES_DIR=$(cd "$2" && pwd)
IMAGE_REF=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $(id -u) == 0 ]] || { echo "must run as root" >&2; exit 1; }
for b in kubelet kubeadm kubectl; do
  [[ -x $BINARIES_DIR/bin/$b ]] || { echo "missing $BINARIES_DIR/bin/$b" >&2; exit 1; }
done

START=$SECONDS
say() { printf '[%4ds] %s\n' "$((SECONDS - START))" "$*"; }
WORK=${WORK_DIR:-$(mktemp -d "$(dirname "$ROOTFS_TAR")/.assemble.XXXXXX")}
mkdir -p "$WORK"
cleanup() { rm -rf --one-file-system "$WORK/rootfs"; [[ -n ${WORK_DIR:-} ]] || rm -rf "$WORK"; }
trap cleanup EXIT
ROOT=$WORK/rootfs
rm -rf --one-file-system "$ROOT"; mkdir -p "$ROOT"

say "extracting $ROOTFS_TAR"
tar --numeric-owner -xpf "$ROOTFS_TAR" -C "$ROOT"

# --- images to preload (cached by content of their inputs) --------------------------------
KEY=$( { sha256sum "$BINARIES_DIR"/bin/* | awk '{ print $1 }'
         sha256sum "$HERE/build-preload-images.sh" "$ROOTFS_TAR" "$IPTABLES_WRAPPER" | awk '{ print $1 }'; } | sha256sum | cut -c1-16)
PRELOAD=${PRELOAD_CACHE:-$(dirname "$ROOTFS_TAR")/preload-cache}/$KEY
if [[ -s $PRELOAD/images.txt ]]; then
  say "preload images: cached in $PRELOAD"
else
  say "building preload images into $PRELOAD"
  rm -rf "$PRELOAD"
  "$HERE/build-preload-images.sh" "$BINARIES_DIR" "$ROOT" "$PRELOAD" | sed 's/^/    /'
fi
# each recipe or release change leaves a set (400-480 MB): keep the four used last
touch "$PRELOAD"
find "$(dirname "$PRELOAD")" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | tail -n +5 | cut -d' ' -f2- |
  while read -r old; do say "removing an older preload set: $old"; rm -rf "$old"; done

# --- overlay ------------------------------------------------------------------------------
say "adding files/ and binaries"
tar -C "$HERE/files" --owner=0 --group=0 --numeric-owner -cf - . | tar -C "$ROOT" --numeric-owner -xpf -
install -m 0755 "$BINARIES_DIR/bin/kubelet" "$ROOT/usr/bin/kubelet"
install -m 0755 "$BINARIES_DIR/bin/kubeadm" "$ROOT/usr/bin/kubeadm"
install -m 0755 "$BINARIES_DIR/bin/kubectl" "$ROOT/usr/bin/kubectl"
# containerd's CNI bin_dir, where CNI installers (DaemonSets) put their binaries, must hold
# Debian's plugins (bridge, host-local, loopback, ...): Debian links /opt/cni/bin to /usr/lib/cni
if [[ ! -e $ROOT/opt/cni/bin/loopback ]]; then
  mkdir -p "$ROOT/opt/cni/bin"
  for p in "$ROOT"/usr/lib/cni/*; do [[ -e $ROOT/opt/cni/bin/${p##*/} ]] || ln -s "/usr/lib/cni/${p##*/}" "$ROOT/opt/cni/bin/${p##*/}"; done
fi
[[ -x $ROOT/opt/cni/bin/loopback ]] || { echo "no CNI loopback plugin in /opt/cni/bin" >&2; exit 1; }

KUBE_VERSION=$("$BINARIES_DIR/bin/kubeadm" version -o short)
PAUSE_IMAGE=$(awk '$1 ~ /\/pause:/ { print $1 }' "$PRELOAD/images.txt")
[[ -n $PAUSE_IMAGE ]] || { echo "no pause image in $PRELOAD/images.txt" >&2; exit 1; }
sed -i -E "s#^([[:space:]]*sandbox_image = ).*#\1\"$PAUSE_IMAGE\"#" "$ROOT/etc/containerd/config.toml"
grep -q "sandbox_image = \"$PAUSE_IMAGE\"" "$ROOT/etc/containerd/config.toml"

mkdir -p "$ROOT/etc/kubernetes/manifests" "$ROOT/etc/cni/net.d" "$ROOT/var/lib/kubelet" "$ROOT/etc/local-cluster"
{
  echo "KUBERNETES_VERSION=$KUBE_VERSION"
  echo "PAUSE_IMAGE=$PAUSE_IMAGE"
  [[ -f $BINARIES_DIR/versions.env ]] && grep -E '^[A-Z_]+=' "$BINARIES_DIR/versions.env" | grep -v '^KUBERNETES_VERSION=' || true
} >"$ROOT/etc/local-cluster/image.env"

chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  systemctl enable kubelet.service containerd.service >/dev/null 2>&1
[[ -L $ROOT/etc/systemd/system/multi-user.target.wants/kubelet.service ]]

# --- containerd's image store, seeded -----------------------------------------------------------
# The image's own containerd (1.6 from Debian, or 2.x on the containerd 2 recipe) imports and
# unpacks the archives into $ROOT/var/lib/containerd (on this machine's disk: its overlayfs
# snapshotter cannot work on an overlayfs), in a mount namespace of its own so nothing it
# mounts outlives it. The layer blobs go afterwards (containerd marks them with
# containerd.io/uncompressed once unpacked): containers run from the unpacked snapshots, and
# the blobs would double what every node's /var volume is filled with.
say "seeding containerd's image store"
T0=$SECONDS
CONTAINERD_CONFIG=/etc/containerd/config.toml
[[ -f $ROOT/etc/containerd/containerd2.toml ]] && CONTAINERD_CONFIG=/etc/containerd/containerd2.toml
# core's NODE_CONTRACT.preloadStamp: the images in containerd, written once the store is seeded
STAMP=/var/lib/local-cluster/images-preloaded
rm -rf "$ROOT/var/lib/containerd" "$ROOT$STAMP"
SEED_LOG=$WORK/containerd-seed.log
SEED_SCRIPT=/.local-cluster-seed
install -m 0755 "$HERE/seed-containerd.sh" "$ROOT$SEED_SCRIPT"
# shellcheck disable=SC2016 # expanded by the inner bash
if ! unshare --mount --propagation private -- env ROOT="$ROOT" PRELOAD="$PRELOAD" CONFIG="$CONTAINERD_CONFIG" SCRIPT="$SEED_SCRIPT" STAMP="$STAMP" bash -Eeuo pipefail -c '
  mount -t proc proc "$ROOT/proc"
  mount --rbind /dev "$ROOT/dev"
  for d in run tmp; do mount -t tmpfs tmpfs "$ROOT/$d"; done
  mount --bind "$PRELOAD" "$ROOT/mnt"
  exec chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CONFIG="$CONFIG" IMAGES_DIR=/mnt STAMP="$STAMP" "$SCRIPT"
' >"$SEED_LOG" 2>&1; then
  sed 's/^/    /' "$SEED_LOG" | tail -n 40 >&2
  echo "seeding containerd's image store failed (log above, whole log: $SEED_LOG)" >&2
  exit 1
fi
rm -f "$ROOT$SEED_SCRIPT"
sed -n 's/^imported/    imported/p' "$SEED_LOG"
[[ -s $ROOT$STAMP ]] || { echo "the seeded store has no image list ($STAMP)" >&2; exit 1; }
say "containerd's store seeded in $((SECONDS - T0))s: $(du -sm "$ROOT/var/lib/containerd" | cut -f1) MB"

# --- into Docker ----------------------------------------------------------------------------
# Default (NODE_IMAGE_VIA=load): write a one-layer `docker save`-format archive and `docker
# load` it, so the image config carries everything, STOPSIGNAL included (systemd stops
# cleanly on SIGRTMIN+3; `docker import --change` and `docker commit --change` both refuse
# STOPSIGNAL on Docker 20.10). NODE_IMAGE_VIA=import: `docker import`; then containers must be
# created with StopSignal "SIGRTMIN+3" (docker run --stop-signal).
ENTRYPOINT_JSON='["/usr/local/bin/entrypoint","/sbin/init"]'
TARX=(tar -C "$ROOT" --numeric-owner --xattrs --xattrs-include='security.capability' -cf - .)
T0=$SECONDS
case ${NODE_IMAGE_VIA:-load} in
  load)
    say "writing image archive and docker load -> $IMAGE_REF"
    A=$WORK/archive
    rm -rf "$A"; mkdir -p "$A/layer"
    "${TARX[@]}" >"$A/layer/layer.tar"
    DIFF_ID=$(sha256sum "$A/layer/layer.tar" | cut -d' ' -f1)
    ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
    NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    printf '%s' "{\"architecture\":\"$ARCH\",\"os\":\"linux\",\"created\":\"$NOW\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"container=docker\"],\"Entrypoint\":$ENTRYPOINT_JSON,\"StopSignal\":\"SIGRTMIN+3\",\"Labels\":{\"dev.local-cluster.kubernetes-version\":\"$KUBE_VERSION\",\"dev.local-cluster.managed\":\"true\",\"dev.local-cluster.role\":\"image\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$DIFF_ID\"]},\"history\":[{\"created\":\"$NOW\",\"created_by\":\"local-cluster images/node/assemble.sh\"}]}" >"$A/config.json"
    CFG=$(sha256sum "$A/config.json" | cut -d' ' -f1)
    mv "$A/config.json" "$A/$CFG.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]' "$CFG" "$IMAGE_REF" >"$A/manifest.json"
    tar -C "$A" -cf - manifest.json "$CFG.json" layer | docker load >/dev/null
    rm -rf "$A"
    ;;
  import)
    say "docker import -> $IMAGE_REF (containers need --stop-signal SIGRTMIN+3)"
    "${TARX[@]}" | docker import \
      --change "ENTRYPOINT $ENTRYPOINT_JSON" \
      --change 'ENV container=docker' \
      --change "LABEL dev.local-cluster.kubernetes-version=$KUBE_VERSION" \
      --change 'LABEL dev.local-cluster.managed=true' --change 'LABEL dev.local-cluster.role=image' \
      --message "local-cluster node image, Kubernetes $KUBE_VERSION" \
      - "$IMAGE_REF" >/dev/null
    ;;
  *) echo "NODE_IMAGE_VIA must be load or import" >&2; exit 2 ;;
esac
say "image written in $((SECONDS - T0))s"
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE_REF")
say "done: $IMAGE_REF ($((SIZE / 1000000)) MB, Kubernetes $KUBE_VERSION), total $((SECONDS - START))s"
