#!/usr/bin/env bash
# A second Docker engine on this machine, reached over TCP with TLS like a remote one, that
# cannot disturb the first engine: its own --data-root, --exec-root (and so its own managed
# containerd), --pidfile, unix socket and --config-file, and:
#  - --iptables=false: an engine that manages iptables removes and re-creates the DOCKER chains
#    at start, which would cut the first engine's published ports and isolation;
#  - its default bridge on a bridge of its own made here (--bridge NAME): `--bridge=none` makes
#    dockerd delete the interface docker0 at start, the first engine's default bridge.
# For the tests of remote engines (tests/clusters/remote.test.ts); root needed.
#
# Usage:
#   second-engine.sh start DIR PORT [ADDRESS...]   generate a CA, server and client certificates in
#       DIR/tls (server names: localhost, 127.0.0.1 and each ADDRESS), start dockerd listening on
#       tcp://127.0.0.1:PORT and tcp://ADDRESS:PORT (TLS, client certificates required) and on
#       unix://DIR/docker.sock; wait until it answers. Prints the environment to use it:
#       DOCKER_HOST=tcp://127.0.0.1:PORT DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=DIR/client
#   second-engine.sh sshd DIR PORT PUBKEY   an OpenSSH server on 127.0.0.1:PORT for that engine
#       (ssh://root@127.0.0.1:PORT): PUBKEY's key may log in, and only to run the engine's
#       `docker system dial-stdio` (what DOCKER_HOST=ssh://... runs). Installs Debian's
#       openssh-server when sshd is missing (its service is not started).
#   second-engine.sh stop DIR    stop that dockerd (and its containers), remove its bridge, its
#       firewall rules and DIR (its data-root included)
#
# Containers of the first engine's bridges are let through the FORWARD chain by that engine's
# rules; this engine adds none (--iptables=false), and the kernel passes bridged frames through
# iptables (bridge-nf-call-iptables), where FORWARD's policy is DROP. So a watcher inserts, for
# each bridge network of this engine, the rule the first engine would make for its own:
# `-i BRIDGE -o BRIDGE -j ACCEPT` (traffic within that network only), tagged, removed at stop.
set -Eeuo pipefail

die() { echo "second-engine: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root (dockerd, iptables)"

TAG_PREFIX=local-cluster-second-engine

rules_for() { # DIR -> the tagged FORWARD rules of that engine, as `-D` arguments
  iptables -S FORWARD | grep -F -- "--comment \"$TAG_PREFIX:$1\"" | sed 's/^-A FORWARD //' || true
}

remove_rules() {
  local dir=$1 rule
  while IFS= read -r rule; do
    [[ -n $rule ]] || continue
    eval "iptables -D FORWARD $rule" 2>/dev/null || true
  done < <(rules_for "$dir")
}

watch_bridges() { # DIR: keep an intra-bridge ACCEPT rule for every bridge network of the engine
  local dir=$1 sock=unix://$1/docker.sock id name bridge
  while [[ -S $dir/docker.sock ]]; do
    while read -r id name; do
      [[ -n $id ]] || continue
      bridge=$(docker -H "$sock" network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$id" 2>/dev/null || true)
      [[ -n $bridge ]] || bridge=br-${id:0:12}
      if ! iptables -C FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$TAG_PREFIX:$dir" -j ACCEPT 2>/dev/null; then
        iptables -I FORWARD 1 -i "$bridge" -o "$bridge" -m comment --comment "$TAG_PREFIX:$dir" -j ACCEPT 2>/dev/null || true
      fi
    done < <(docker -H "$sock" network ls --no-trunc --filter driver=bridge --format '{{.ID}} {{.Name}}' 2>/dev/null || true)
    sleep 0.5
  done
}

make_certs() { # DIR ADDRESS...
  local tls=$1/tls; shift
  mkdir -p "$tls"
  local san="DNS:localhost,IP:127.0.0.1" a
  for a in "$@"; do
    if [[ $a =~ ^[0-9.]+$ ]]; then san+=",IP:$a"; else san+=",DNS:$a"; fi
  done
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj "/CN=local-cluster second engine CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 2 -extfile server.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj "/CN=client" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile client.ext 2>/dev/null
    rm -f ./*.csr ./*.ext ./*.srl
  )
}

start() {
  local dir=$1 port=$2; shift 2
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, not '$port'"
  command -v dockerd >/dev/null || die "dockerd is not installed (bash scripts/ensure-docker.sh installs it)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ ! -e $dir/dockerd.pid ]] || die "$dir already has an engine (stop it first: $0 stop $dir)"
  make_certs "$dir" "$@"
  # the client's files, as DOCKER_CERT_PATH wants them
  mkdir -p "$dir/client"
  cp "$dir/tls/ca.pem" "$dir/tls/cert.pem" "$dir/tls/key.pem" "$dir/client/"
  # its own default bridge (interface names: at most 15 characters), on a /24 of 10.239.0.0/16
  local bridge=lc2nd$((port % 100000))
  ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge
  ip addr replace "10.239.$((port % 250)).1/24" dev "$bridge"
  ip link set "$bridge" up
  echo "$bridge" >"$dir/bridge"
  echo '{}' >"$dir/daemon.json"
  local hosts=(-H "unix://$dir/docker.sock" -H "tcp://127.0.0.1:$port") a
  for a in "$@"; do hosts+=(-H "tcp://$a:$port"); done
  # cgroupfs, overlay2: as the first engine (scripts/ensure-docker.sh starts it with the defaults)
  setsid dockerd \
    --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    "${hosts[@]}" \
    --tlsverify --tlscacert "$dir/tls/ca.pem" --tlscert "$dir/tls/server-cert.pem" --tlskey "$dir/tls/server-key.pem" \
    --bridge "$bridge" --iptables=false --ip-masq=false --ip-forward=false \
    --storage-driver overlay2 --exec-opt native.cgroupdriver=cgroupfs \
    >"$dir/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if [[ -S $dir/docker.sock ]] && docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then
      setsid bash "$0" __watch "$dir" >/dev/null 2>&1 </dev/null &
      echo $! >"$dir/watcher.pid"
      echo "DOCKER_HOST=tcp://127.0.0.1:$port DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$dir/client"
      return 0
    fi
    sleep 1
  done
  tail -20 "$dir/dockerd.log" >&2 || true
  stop "$dir"
  die "the second dockerd did not answer within 60 s (log above)"
}

sshd_start() {
  local dir=$1 port=$2 pubkey=$3
  [[ -S $dir/docker.sock ]] || die "no engine in $dir (start it first)"
  [[ -s $pubkey ]] || die "no public key at $pubkey"
  if [[ ! -x /usr/sbin/sshd ]]; then
    echo "Installing OpenSSH server (Debian package openssh-server; its service is not started)..." >&2
    local made_policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null || { [[ -z $made_policy ]] || rm -f /usr/sbin/policy-rc.d; die "could not install openssh-server"; }
    [[ -z $made_policy ]] || rm -f /usr/sbin/policy-rc.d
  fi
  local ssh=$dir/ssh
  mkdir -p "$ssh" /run/sshd
  chmod 755 /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$ssh/host_ed25519" <<<y >/dev/null
  printf 'command="env DOCKER_HOST=unix://%s/docker.sock docker system dial-stdio",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding %s\n' "$dir" "$(cat "$pubkey")" >"$ssh/authorized_keys"
  cat >"$ssh/sshd_config" <<EOF2
Port $port
ListenAddress 127.0.0.1
HostKey $ssh/host_ed25519
PidFile $ssh/sshd.pid
AuthorizedKeysFile $ssh/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
EOF2
  /usr/sbin/sshd -f "$ssh/sshd_config" -E "$ssh/sshd.log" || die "sshd did not start: $(tail -5 "$ssh/sshd.log")"
  for _ in $(seq 1 20); do [[ -s $ssh/sshd.pid ]] && { echo "DOCKER_HOST=ssh://root@127.0.0.1:$port"; return 0; }; sleep 0.25; done
  die "sshd wrote no pid file: $(tail -5 "$ssh/sshd.log")"
}

stop() {
  local dir=$1 pid
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd)
  if [[ -S $dir/docker.sock ]]; then
    # its containers first (they carry restart policies), so nothing of it is left running
    local ids
    ids=$(docker -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)
    [[ -z $ids ]] || docker -H "unix://$dir/docker.sock" rm -f -v $ids >/dev/null 2>&1 || true
  fi
  if [[ -s $dir/dockerd.pid ]]; then
    pid=$(cat "$dir/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [[ -s $dir/ssh/sshd.pid ]]; then kill "$(cat "$dir/ssh/sshd.pid")" 2>/dev/null || true; fi
  if [[ -s $dir/watcher.pid ]]; then kill "$(cat "$dir/watcher.pid")" 2>/dev/null || true; fi
  remove_rules "$dir"
  if [[ -s $dir/bridge ]]; then ip link del "$(cat "$dir/bridge")" 2>/dev/null || true; fi
  # mounts the engine may have left (overlay, its containerd's shm)
  local m
  for m in $(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$dir"
}

case ${1:-} in
  start) [[ $# -ge 3 ]] || die "usage: $0 start DIR PORT [ADDRESS...]"; shift; start "$@" ;;
  sshd) [[ $# == 4 ]] || die "usage: $0 sshd DIR PORT PUBKEY"; sshd_start "$2" "$3" "$4" ;;
  stop) [[ $# == 2 ]] || die "usage: $0 stop DIR"; stop "$2" ;;
  __watch) watch_bridges "$2" ;;
  *) sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2 ;;
esac
