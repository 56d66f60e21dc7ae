#!/usr/bin/env bash
# Makes a Docker engine reachable. If DOCKER_HOST is set, it must answer (nothing is started).
# Otherwise, when /var/run/docker.sock does not answer, installs Debian's docker.io if dockerd
# is missing and starts dockerd in the background (log: /var/log/local-cluster-dockerd.log).
set -Eeuo pipefail

SOCK=/var/run/docker.sock
answers() { curl -fsS --max-time 3 --unix-socket "$SOCK" http://docker/_ping >/dev/null 2>&1; }

if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST != unix://$SOCK ]]; then
  echo "DOCKER_HOST is set ($DOCKER_HOST): using that engine, starting nothing." >&2
  exit 0
fi
if answers; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || { echo "No Docker engine at $SOCK and dockerd is not installed: install Docker (root needed)." >&2; exit 1; }
  echo "Installing Docker Engine (Debian package docker.io)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi
[[ $(id -u) == 0 ]] || { echo "No Docker engine at $SOCK: start dockerd (root needed)." >&2; exit 1; }
echo "Starting dockerd..." >&2
nohup dockerd >/var/log/local-cluster-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  answers && { echo "Docker engine is up." >&2; exit 0; }
  sleep 1
done
echo "dockerd did not come up within 60s; see /var/log/local-cluster-dockerd.log" >&2
tail -20 /var/log/local-cluster-dockerd.log >&2 || true
exit 1
