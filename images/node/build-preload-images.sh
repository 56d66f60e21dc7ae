#!/usr/bin/env bash
# Builds the images kubeadm expects (control plane, kube-proxy, etcd, CoreDNS, pause) from
# locally built static binaries, without a registry and without the Docker daemon: each image
# is one reproducible layer written straight into a `docker save`-format archive, which both
# `ctr images import` (inside nodes) and `docker load` read.
#
# Usage: build-preload-images.sh BINARIES_DIR ROOTFS_DIR OUTDIR
#
#   BINARIES_DIR  output of images/binaries/build.sh (bin/kubeadm, bin/kube-apiserver, ...,
#                 bin/etcd, bin/coredns, bin/pause)
#   ROOTFS_DIR    an extracted node rootfs (build-rootfs.sh): source of CA certificates and of
#                 the Debian iptables/nftables/conntrack files the kube-proxy image needs
#   OUTDIR        receives one archive per image (<name>_<tag>.tar), and images.txt
#                 ("<image ref> <archive file>" per line)
#
# Image names and tags come from `kubeadm config images list` of the kubeadm in BINARIES_DIR,
# for its own version, so they always match what that kubeadm will ask for.
set -Eeuo pipefail

[[ $# == 3 ]] || { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
BINDIR=$(cd "$1/bin" && pwd)
ROOTFS=$(cd "$2" && pwd)
mkdir -p "$3"
OUTDIR=$(cd "$3" && pwd)
START=$SECONDS
say() { printf '[%4ds] %s\n' "$((SECONDS - START))" "$*"; }

GOARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
case $GOARCH in x86_64) GOARCH=amd64 ;; aarch64) GOARCH=arm64 ;; esac

KUBE_VERSION=$("$BINDIR/kubeadm" version -o short)
mapfile -t IMAGES < <("$BINDIR/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null)
[[ ${#IMAGES[@]} -gt 0 ]] || { echo "kubeadm config images list returned nothing" >&2; exit 1; }
say "kubeadm $KUBE_VERSION expects: ${IMAGES[*]}"

WORK=$(mktemp -d "$OUTDIR/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TAR=(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu)

# Files every image gets: users, name service config, CA bundle, /tmp.
base_files() {
  local dir=$1
  mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/var/run" "$dir/usr/local/bin"
  chmod 1777 "$dir/tmp"
  cat >"$dir/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$dir/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  echo 'hosts: files dns' >"$dir/etc/nsswitch.conf"
  cp "$ROOTFS/etc/ssl/certs/ca-certificates.crt" "$dir/etc/ssl/certs/"
}

# write_archive REF DIR ARCHIVE JSON_CONFIG_FRAGMENT
# One layer (DIR), docker-archive layout: manifest.json, <config digest>.json, <id>/layer.tar.
write_archive() {
  local ref=$1 dir=$2 archive=$3 config=$4
  local a=$WORK/archive
  rm -rf "$a"; mkdir -p "$a/layer"
  "${TAR[@]}" -C "$dir" -cf "$a/layer/layer.tar" .
  local diff_id
  diff_id=$(sha256sum "$a/layer/layer.tar" | cut -d' ' -f1)
  mv "$a/layer" "$a/$diff_id"
  printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"local-cluster build-preload-images.sh"}]}' \
    "$GOARCH" "$config" "$diff_id" >"$a/config.json"
  local cfg
  cfg=$(sha256sum "$a/config.json" | cut -d' ' -f1)
  mv "$a/config.json" "$a/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$ref" "$diff_id" >"$a/manifest.json"
  "${TAR[@]}" -C "$a" -cf "$archive.tmp" manifest.json "$cfg.json" "$diff_id"
  mv "$archive.tmp" "$archive"
}

PATH_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'
need() { [[ -x $BINDIR/$1 ]] || { echo "missing binary $BINDIR/$1" >&2; exit 1; }; }

# --- kube-proxy: Debian's iptables (nft and legacy), nftables and conntrack, closed over ----
# their package dependencies, plus a wrapper that picks the backend the kubelet used.
kube_proxy_files() {
  local dir=$1
  local -a pkgs=(iptables conntrack nftables dash)
  local closure
  closure=$(chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c '
    todo="$*"; done_=" "
    while [ -n "$todo" ]; do
      set -- $todo; p=$1; shift; todo="$*"
      case "$done_" in *" $p "*) continue ;; esac
      # package-management plumbing never runs inside the image
      case " dpkg debianutils tar init-system-helpers debconf perl-base adduser " in *" $p "*) continue ;; esac
      dpkg-query -W -f "\${Status}" "$p" 2>/dev/null | grep -q "ok installed" || continue
      done_="$done_$p "
      deps=$(dpkg-query -W -f "\${Pre-Depends}, \${Depends}\\n" "$p" | tr "," "\n" |
        sed -e "s/([^)]*)//g" -e "s/:any//g" | while IFS= read -r alt; do
          # first installed alternative of "a | b"
          for c in $(echo "$alt" | tr "|" " "); do
            if dpkg-query -W -f "\${Status}" "$c" 2>/dev/null | grep -q "ok installed"; then echo "$c"; break; fi
          done
        done)
      todo="$todo $deps"
    done
    echo $done_' sh "${pkgs[@]}")
  # shellcheck disable=SC2086
  say "kube-proxy image: Debian packages $closure"
  # every non-directory file of those packages, at its canonical (merged-/usr) path
  # shellcheck disable=SC2086
  chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c '
    for p in "$@"; do dpkg-query -L "$p"; done | sort -u | while IFS= read -r f; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      [ -d "$f" ] && continue   # directories, and the merged-/usr links (/bin, /lib, ...)
      case "$f" in /usr/share/doc/*|/usr/share/man/*|/usr/share/locale/*|/usr/share/lintian/*|/usr/share/info/*) continue ;; esac
      d=$(readlink -f "$(dirname "$f")")
      echo "${d#/}/$(basename "$f")"
    done | sort -u' sh $closure >"$WORK/kube-proxy.files"
  tar -C "$ROOTFS" --no-recursion -cf - -T "$WORK/kube-proxy.files" | tar -C "$dir" -xf -
  # merged /usr
  local l
  for l in bin sbin lib lib64; do
    if [[ -L $ROOTFS/$l && ! -e $dir/$l && ! -L $dir/$l ]]; then cp -a "$ROOTFS/$l" "$dir/$l"; fi
  done
  # the wrapper core's image recipes use too (@local-cluster/core IPTABLES_WRAPPER), handed over
  # by the node image build as a file
  [[ -s ${IPTABLES_WRAPPER:-} ]] || { echo "IPTABLES_WRAPPER must name the iptables wrapper script" >&2; exit 1; }
  cp "$IPTABLES_WRAPPER" "$dir/usr/sbin/iptables-wrapper"
  chmod 755 "$dir/usr/sbin/iptables-wrapper"
  local t
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sfn iptables-wrapper "$dir/usr/sbin/$t"
  done
  rm -rf "$dir/etc/alternatives" "$dir/var/lib/dpkg" "$dir/usr/share/doc"
}

: >"$OUTDIR/images.txt.tmp"
for ref in "${IMAGES[@]}"; do
  name=${ref%:*}; name=${name##*/}; tag=${ref##*:}
  dir=$WORK/rootfs-$name
  rm -rf "$dir"; mkdir -p "$dir"
  base_files "$dir"
  user='""'
  case $name in
    kube-apiserver|kube-controller-manager|kube-scheduler)
      need "$name"
      cp "$BINDIR/$name" "$dir/usr/local/bin/"
      entry="[\"/usr/local/bin/$name\"]" ;;
    kube-proxy)
      need kube-proxy
      kube_proxy_files "$dir"
      cp "$BINDIR/kube-proxy" "$dir/usr/local/bin/"
      entry='["/usr/local/bin/kube-proxy"]' ;;
    etcd)
      need etcd
      for b in etcd etcdctl etcdutl; do [[ -x $BINDIR/$b ]] && cp "$BINDIR/$b" "$dir/usr/local/bin/"; done
      mkdir -p "$dir/var/lib/etcd" "$dir/var/etcd"
      have=$("$BINDIR/etcd" --version 2>/dev/null | awk '/etcd Version/ { print $3 }')
      [[ ${tag%-*} == "$have" ]] || say "WARNING: kubeadm expects etcd ${tag%-*}, the binary is $have"
      entry='["/usr/local/bin/etcd"]' ;;
    coredns)
      need coredns
      cp "$BINDIR/coredns" "$dir/coredns"
      have=$("$BINDIR/coredns" -version 2>/dev/null | awk -F- '/CoreDNS-/ { print $2; exit }')
      [[ ${tag#v} == "$have" ]] || say "WARNING: kubeadm expects CoreDNS ${tag#v}, the binary is $have"
      entry='["/coredns"]' ;;
    pause)
      need pause
      cp "$BINDIR/pause" "$dir/pause"
      user='"65535:65535"'
      entry='["/pause"]' ;;
    *)
      echo "don't know how to build $ref" >&2; exit 1 ;;
  esac
  archive="$OUTDIR/${name}_${tag}.tar"
  write_archive "$ref" "$dir" "$archive" "{\"Env\":[$PATH_ENV],\"Entrypoint\":$entry,\"User\":$user,\"WorkingDir\":\"/\"}"
  rm -rf "$dir"
  echo "$ref $(basename "$archive")" >>"$OUTDIR/images.txt.tmp"
  say "built $ref -> $(basename "$archive") ($(du -h "$archive" | cut -f1))"
done

# The toolbox: busybox (sh, httpd, wget, nslookup, nc) for connectivity checks and debugging,
# used by pods with imagePullPolicy Never. Its name is pinned in binaries/versions.env.
source "$(dirname "${BASH_SOURCE[0]}")/../binaries/versions.env"
[[ -x $ROOTFS/bin/busybox ]] || { echo "the rootfs has no /bin/busybox (busybox-static)" >&2; exit 1; }
dir=$WORK/rootfs-toolbox
rm -rf "$dir"; mkdir -p "$dir/bin"
base_files "$dir"
cp "$ROOTFS/bin/busybox" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do [[ -e $dir/bin/$applet ]] || ln -s busybox "$dir/bin/$applet"; done
archive="$OUTDIR/toolbox.tar"
write_archive "$TOOLBOX_IMAGE" "$dir" "$archive" "{\"Env\":[\"PATH=/bin\"],\"Entrypoint\":[\"/bin/sh\"],\"User\":\"\",\"WorkingDir\":\"/\"}"
rm -rf "$dir"
echo "$TOOLBOX_IMAGE $(basename "$archive")" >>"$OUTDIR/images.txt.tmp"
say "built $TOOLBOX_IMAGE -> $(basename "$archive") ($(du -h "$archive" | cut -f1))"

mv "$OUTDIR/images.txt.tmp" "$OUTDIR/images.txt"
say "done: ${#IMAGES[@]} images in $OUTDIR ($(du -ch "$OUTDIR"/*.tar | tail -n1 | cut -f1))"
