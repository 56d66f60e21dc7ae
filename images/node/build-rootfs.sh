#!/usr/bin/env bash
# Builds the base root filesystem of a local-cluster node: Debian (bookworm, variant minbase)
# with systemd, containerd, runc, the CNI plugins and the tools kubeadm and the kubelet call.
# No Kubernetes binaries and no configuration of ours go in here: assemble.sh adds those.
#
# Usage: build-rootfs.sh [--mirror URL] [--suite SUITE] [--arch ARCH] OUTDIR
#
# Produces OUTDIR/rootfs.tar (numeric owners, paths relative to "./") and
# OUTDIR/rootfs.packages (the dpkg package list, for reference).
#
# The Debian mirror is never written into this script: it comes from --mirror, or the
# DEBIAN_MIRROR environment variable, or the host's apt configuration
# (/etc/apt/sources.list.d/*.sources "URIs:" of the stanza serving SUITE, else a
# "deb URI SUITE ..." line of /etc/apt/sources.list or sources.list.d/*.list).
# An HTTP proxy configured for apt (Acquire::http::Proxy) is honoured as well.
#
# Environment: DEBIAN_MIRROR, DEBIAN_SUITE (default bookworm; keep bookworm on cgroup v1
# hosts: systemd >= 256 refuses cgroup v1), DEBIAN_ARCH (default: dpkg's),
# EXTRA_PACKAGES (space separated, added to the package list), KEEP_ROOTFS_DIR=1 (keep
# OUTDIR/rootfs/ after packing). Must run as root (debootstrap, chroot).
set -Eeuo pipefail

MIRROR=${DEBIAN_MIRROR:-}
SUITE=${DEBIAN_SUITE:-bookworm}
ARCH=${DEBIAN_ARCH:-}
OUTDIR=

usage() { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --mirror) MIRROR=$2; shift 2 ;;
    --suite) SUITE=$2; shift 2 ;;
    --arch) ARCH=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "unknown option $1" >&2; usage 2 ;;
    *) [[ -z $OUTDIR ]] || usage 2; OUTDIR=$1; shift ;;
  esac
done
[[ -n $OUTDIR ]] || usage 2
[[ $(id -u) == 0 ]] || { echo "must run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
ARCH=${ARCH:-$(dpkg --print-architecture)}

START=$SECONDS
say() { printf '[%4ds] %s\n' "$((SECONDS - START))" "$*"; }

# --- mirror from the host's apt configuration ---------------------------------------------
mirror_from_apt() {
  local f
  # deb822 .sources files: the first URI of an enabled "deb" stanza whose Suites has SUITE.
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v suite="$SUITE" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && enabled != "no" && uri != "") { print uri; found = 1; exit }
        types = ""; suites = ""; uri = ""; enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^[ \t]+/, "") }
      key == "types" { types = $0 }
      key == "suites" { suites = $0 }
      key == "uris" { split($0, u, /[ \t]+/); uri = u[1] }
      key == "enabled" { enabled = tolower($0) }
      END { if (!found) flush() }
    ' "$f" | head -n1
  done
  # one-line format
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f"
  done
}
if [[ -z $MIRROR ]]; then
  MIRROR=$(mirror_from_apt | head -n1 || true)
fi
[[ -n $MIRROR ]] || { echo "no Debian mirror for '$SUITE' in the host's apt configuration; pass --mirror or DEBIAN_MIRROR" >&2; exit 1; }
MIRROR=${MIRROR%/}

# apt's proxy, if any (debootstrap downloads with wget, which reads http_proxy)
if command -v apt-config >/dev/null; then
  APT_PROXY=
  eval "$(apt-config shell APT_PROXY Acquire::http::Proxy)"
  if [[ -n ${APT_PROXY:-} && -z ${http_proxy:-} ]]; then export http_proxy=$APT_PROXY; fi
fi

# --- package set --------------------------------------------------------------------------
PACKAGES=(
  # init and the container's own plumbing
  systemd systemd-sysv dbus
  # container runtime and CNI plugins (Debian puts the plugins in /usr/lib/cni)
  containerd runc containernetworking-plugins
  # what kubeadm preflight / kubelet / kube-proxy / CNI call
  iproute2 iptables nftables conntrack socat ethtool kmod util-linux mount
  procps ca-certificates ipset
  # small debugging helpers; busybox-static also makes the toolbox image (build-preload-images.sh)
  iputils-ping less busybox-static
)
OPTIONAL_PACKAGES=(ebtables)
for p in "${OPTIONAL_PACKAGES[@]}"; do
  # Only skip an optional package when the host's apt knows the suite and says it is absent.
  if command -v apt-cache >/dev/null && apt-cache show "$p" >/dev/null 2>&1; then
    PACKAGES+=("$p")
  elif ! command -v apt-cache >/dev/null; then
    PACKAGES+=("$p")
  else
    say "optional package $p not available, skipping"
  fi
done
# shellcheck disable=SC2206
PACKAGES+=(${EXTRA_PACKAGES:-})
INCLUDE=$(IFS=,; echo "${PACKAGES[*]}")

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
ROOT=$OUTDIR/rootfs
if [[ -e $ROOT ]]; then
  say "removing previous $ROOT"
  # never follow mounts left over from an interrupted run
  for m in proc sys dev/pts dev; do umount -l "$ROOT/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$ROOT"
fi

say "debootstrap $SUITE ($ARCH, minbase) from the host's configured mirror; packages: ${PACKAGES[*]}"
T0=$SECONDS
debootstrap --variant=minbase --arch="$ARCH" --components=main \
  --include="$INCLUDE" "$SUITE" "$ROOT" "$MIRROR" >"$OUTDIR/debootstrap.log" 2>&1 || {
    echo "debootstrap failed; last lines of $OUTDIR/debootstrap.log:" >&2
    tail -n 30 "$OUTDIR/debootstrap.log" >&2
    exit 1
  }
say "debootstrap done in $((SECONDS - T0))s"

# --- make it a container-friendly systemd system -----------------------------------------
say "configuring the rootfs for systemd-in-a-container"
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# keep future package installs small as well
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/01-local-cluster-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
EOF
cat >"$ROOT/etc/apt/apt.conf.d/01-local-cluster" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF

# Units that make no sense (or fail) in a container. udev: /dev is Docker's; no kernel
# modules can be loaded; no consoles to log in on; no periodic maintenance.
MASK=(
  getty.target console-getty.service getty@tty1.service serial-getty@.service
  systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
  systemd-udev-trigger.service systemd-udev-settle.service
  systemd-modules-load.service kmod-static-nodes.service
  systemd-remount-fs.service systemd-firstboot.service
  systemd-journald-audit.socket
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount
  dev-hugepages.mount dev-mqueue.mount
  proc-sys-fs-binfmt_misc.automount systemd-binfmt.service
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
  systemd-networkd-wait-online.service systemd-pstore.service
)
in_root systemctl mask "${MASK[@]}" >/dev/null 2>&1 || true
in_root systemctl set-default multi-user.target >/dev/null 2>&1
in_root systemctl enable containerd.service >/dev/null 2>&1

# journald: the node's /dev/kmsg is the host's (or the console); never read it
mkdir -p "$ROOT/etc/systemd/journald.conf.d"
cat >"$ROOT/etc/systemd/journald.conf.d/10-local-cluster.conf" <<'EOF'
[Journal]
ReadKMsg=no
Storage=persistent
SystemMaxUse=200M
EOF

# CNI: Debian's plugins live in /usr/lib/cni; most CNI installers expect /opt/cni/bin.
mkdir -p "$ROOT/opt/cni" "$ROOT/etc/cni/net.d"
ln -sfn ../../usr/lib/cni "$ROOT/opt/cni/bin"

# Docker provides /etc/hostname, /etc/hosts and /etc/resolv.conf; the entrypoint writes a
# fresh machine-id at every start.
: >"$ROOT/etc/hostname"
rm -f "$ROOT/etc/resolv.conf"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
ln -sf /etc/machine-id "$ROOT/var/lib/dbus/machine-id"

# --- clean up -----------------------------------------------------------------------------
say "cleaning apt caches, docs, man pages, locales"
in_root apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin \
  "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/dpkg/*-old \
  "$ROOT"/var/log/apt/* "$ROOT"/var/log/*.log "$ROOT"/tmp/* "$ROOT"/var/tmp/* \
  "$ROOT"/usr/share/info/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/lintian \
  "$ROOT"/usr/share/linda "$ROOT"/var/cache/man/*
find "$ROOT/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
in_root dpkg-query -W -f '${Package} ${Version}\n' >"$OUTDIR/rootfs.packages"

# --- pack ---------------------------------------------------------------------------------
say "packing $OUTDIR/rootfs.tar"
T0=$SECONDS
tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$ROOT" \
  -cf "$OUTDIR/rootfs.tar.tmp" .
mv "$OUTDIR/rootfs.tar.tmp" "$OUTDIR/rootfs.tar"
say "packed in $((SECONDS - T0))s"
if [[ ${KEEP_ROOTFS_DIR:-0} != 1 ]]; then rm -rf --one-file-system "$ROOT"; fi

say "done: $OUTDIR/rootfs.tar $(du -h "$OUTDIR/rootfs.tar" | cut -f1), $(wc -l <"$OUTDIR/rootfs.packages") packages, total $((SECONDS - START))s"
