#!/bin/sh
# Seeds a node root filesystem's containerd image store: run by assemble.sh inside the root
# filesystem (chroot, private mount namespace, /proc /dev /run /tmp mounted), with the node's
# own containerd. Imports every `docker save` archive in IMAGES_DIR into the k8s.io namespace
# (where the CRI plugin, hence the kubelet, sees them), unpacked; drops the layer blobs
# (containers run from the unpacked snapshots); writes STAMP, the list of images core checks.
#
# Environment: CONFIG (containerd's configuration file), IMAGES_DIR, STAMP.
set -eu
containerd --config "$CONFIG" >/tmp/containerd.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; cat /tmp/containerd.log >&2' EXIT
start=$(date +%s%N)

i=0
until ctr version >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -le 100 ] || { echo "containerd did not answer" >&2; exit 1; }
  sleep 0.1
done

set -- "$IMAGES_DIR"/*.tar
[ -e "$1" ] || { echo "no image archives in $IMAGES_DIR" >&2; exit 1; }
pids=
for f in "$@"; do
  # one archive per image: import them concurrently
  ctr -n k8s.io images import "$f" >/dev/null &
  pids="$pids $!"
done
rc=0
for p in $pids; do wait "$p" || rc=1; done
[ "$rc" = 0 ] || { echo "importing images failed" >&2; exit 1; }

# unpacking labels each layer blob containerd.io/uncompressed: they are not needed any more
layers=$(ctr -n k8s.io content ls | awk '/containerd.io\/uncompressed=/ { print $1 }')
[ -z "$layers" ] || echo "$layers" | xargs ctr -n k8s.io content rm >/dev/null
ctr -n k8s.io images check | awk 'NR > 1 && $NF != "true" { print "not unpacked: " $1; bad = 1 } END { exit bad }' >&2

mkdir -p "$(dirname "$STAMP")"
ctr -n k8s.io images list -q >"$STAMP"
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT
# containerd's garbage collector deletes the files of removed blobs soon after, but maybe not
# before it stopped: no longer referenced, they are removed here
BLOBS=$(awk '/^root *=/ { gsub(/"/, "", $3); print $3 }' "$CONFIG")/io.containerd.content.v1.content/blobs
for d in $layers; do rm -f "$BLOBS/${d%%:*}/${d#*:}"; done
end=$(date +%s%N)
echo "imported $# image archives in $(( (end - start) / 1000000 )) ms:"
cat "$STAMP"
