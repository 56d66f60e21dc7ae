#!/usr/bin/env bash
# Prepares a checkout: npm dependencies (which bring Node 24 and Deno as packages), the
# build of every package, a reachable Docker engine, and the host tools the node image
# build needs (debootstrap). Idempotent and quick when nothing changed.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -x node_modules/.bin/node || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "Installing npm dependencies..." >&2
  # npm ci rejects this lockfile (npm 11 leaves other platforms' optional packages out of it),
  # so install from the lockfile with npm install, which keeps the same tree.
  npm install --no-audit --no-fund --loglevel=error
fi
export PATH=$PWD/node_modules/.bin:$PATH

bash scripts/ensure-docker.sh
if ! command -v debootstrap >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
  echo "Installing debootstrap (for the node image build)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi

# Every node runs systemd, containerd and a kubelet, each holding inotify instances; the kernel's
# default of 128 per user runs out around six nodes (kubelets then never become healthy). Raise
# the limits as kind's known-issues page advises, when this machine lets us.
raise_sysctl() {
  local key=$1 want=$2 file=/proc/sys/${1//.//}
  [[ -r $file ]] || return 0
  if (( $(cat "$file") < want )); then
    if [[ -w $file ]] && echo "$want" >"$file" 2>/dev/null; then echo "Raised $key to $want (nodes need inotify instances)." >&2
    else echo "warning: $key is $(cat "$file"); clusters with many nodes need $want (sysctl -w $key=$want as root)." >&2; fi
  fi
}
raise_sysctl fs.inotify.max_user_instances 512
raise_sysctl fs.inotify.max_user_watches 524288

nx run-many -t build --outputStyle=static >/dev/null || nx run-many -t build --outputStyle=static
