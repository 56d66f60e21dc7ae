#!/usr/bin/env bash
# End-to-end proof of a node image: one control-plane node plus N workers as Docker
# containers, kubeadm init/join, a bridge CNI (per-node bridge + host-local on the node's pod
# CIDR + routes between nodes), then waits for all nodes and CoreDNS to be Ready and checks
# DNS and cross-node pod traffic. Prints timings. Everything it creates carries the label
# LABEL (containers, network, volumes) and is removed at the end unless KEEP=1.
#
# Usage: test-cluster.sh IMAGE_REF [WORKERS]
#
# Environment: KEEP=1 (leave the cluster running), LABEL (default
# dev.local-cluster.cluster=helper-test), NET (docker network, default lc-helper-test),
# PRIVILEGED=1 (use --privileged instead of the capability set; refused on some hosts),
# LOGDIR (kubeadm output; default a new /tmp/local-cluster-test.* directory),
# POD_SUBNET (10.244.0.0/16), SERVICE_SUBNET (10.96.0.0/12), IGNORE_PREFLIGHT (comma separated
# kubeadm preflight checks to ignore, default none), RESTART=1 (also restart every node
# container afterwards and check the cluster comes back).
set -Eeuo pipefail

[[ $# -ge 1 ]] || { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
IMAGE=$1
WORKERS=${2:-1}
LABEL=${LABEL:-dev.local-cluster.cluster=helper-test}
NET=${NET:-lc-helper-test}
POD_SUBNET=${POD_SUBNET:-10.244.0.0/16}
SERVICE_SUBNET=${SERVICE_SUBNET:-10.96.0.0/12}
MASTER=kube-master
NODES=("$MASTER")
for i in $(seq 1 "$WORKERS"); do NODES+=("kube-node-$i"); done

LOGDIR=${LOGDIR:-$(mktemp -d /tmp/local-cluster-test.XXXXXX)}
T_START=$(date +%s.%N)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%6ss] %s\n' "$(since "$T_START")" "$*"; }

cleanup() {
  local rc=$?
  if [[ ${KEEP:-0} == 1 ]]; then
    say "KEEP=1: leaving ${NODES[*]} and network $NET running"
  else
    say "cleaning up containers, volumes, network labelled $LABEL"
    docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -fv >/dev/null
    docker volume ls -q --filter "label=$LABEL" | xargs -r docker volume rm >/dev/null
    docker network ls -q --filter "label=$LABEL" | xargs -r docker network rm >/dev/null
  fi
  exit $rc
}
trap cleanup EXIT

KUBE_VERSION=$(docker image inspect -f '{{index .Config.Labels "dev.local-cluster.kubernetes-version"}}' "$IMAGE")
[[ -n $KUBE_VERSION ]] || { echo "$IMAGE has no dev.local-cluster.kubernetes-version label" >&2; exit 1; }
say "image $IMAGE, Kubernetes $KUBE_VERSION, nodes: ${NODES[*]}"

docker network inspect "$NET" >/dev/null 2>&1 || docker network create --label "$LABEL" "$NET" >/dev/null

if [[ ${PRIVILEGED:-0} == 1 ]]; then
  SECURITY=(--privileged)
else
  # What works where --privileged is refused (no CAP_SYS_RESOURCE in the VM's bounding set).
  SECURITY=(--cap-add ALL --cap-drop SYS_RESOURCE
            --security-opt seccomp=unconfined --security-opt apparmor=unconfined
            --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm')
fi

run_node() {
  local name=$1
  docker run -d --name "$name" --hostname "$name" --label "$LABEL" --network "$NET" \
    "${SECURITY[@]}" --cgroupns=private \
    --tmpfs /run --tmpfs /tmp \
    --mount "type=volume,dst=/var,volume-label=$LABEL" \
    --stop-signal SIGRTMIN+3 --tty \
    "$IMAGE" >/dev/null
}
node_exec() { docker exec "$@"; }
node_ip() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$1"; }

wait_for() { # wait_for TIMEOUT DESCRIPTION COMMAND...
  local timeout=$1 what=$2; shift 2
  local t0; t0=$(now)
  until "$@" >/dev/null 2>&1; do
    if awk -v a="$t0" -v b="$(now)" -v t="$timeout" 'BEGIN { exit !(b - a > t) }'; then
      say "TIMEOUT after ${timeout}s waiting for $what"; return 1
    fi
    sleep 0.2
  done
}
system_up() { local s; s=$(docker exec "$1" systemctl is-system-running 2>/dev/null || true); [[ $s == running || $s == degraded ]]; }

# --- nodes ----------------------------------------------------------------------------------
for n in "${NODES[@]}"; do
  t0=$(now)
  run_node "$n"
  wait_for 60 "systemd in $n" system_up "$n"
  state=$(docker exec "$n" systemctl is-system-running || true)
  say "$n: container started, systemd $state after $(since "$t0")s ($(docker exec "$n" systemd-analyze time 2>/dev/null | head -n1 | sed 's/^Startup finished in //'); containerd: $(docker exec "$n" systemd-analyze blame 2>/dev/null | awk '$2 == "containerd.service" { print $1 }'), preload: $(docker exec "$n" systemd-analyze blame 2>/dev/null | awk '$2 == "local-cluster-preload.service" { print $1 }'))"
  [[ $state == running ]] || docker exec "$n" systemctl --failed --no-pager || true
done
for n in "${NODES[@]}"; do
  wait_for 120 "image preload in $n" docker exec "$n" test -s /var/lib/local-cluster/images-preloaded
  say "$n: $(docker exec "$n" journalctl -u local-cluster-preload -o cat --no-pager | grep -m1 '^imported')"
done
MASTER_IP=$(node_ip "$MASTER")

# --- kubeadm init -----------------------------------------------------------------------------
TOKEN=$(printf '%s.%s' "$(tr -dc a-z0-9 </dev/urandom | head -c 6)" "$(tr -dc a-z0-9 </dev/urandom | head -c 16)")
docker exec -i "$MASTER" sh -c 'cat >/etc/kubernetes/kubeadm-init.yaml' <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: "$TOKEN"
    ttl: 24h0m0s
localAPIEndpoint:
  advertiseAddress: $MASTER_IP
  bindPort: 6443
nodeRegistration:
  name: $MASTER
  criSocket: unix:///run/containerd/containerd.sock
  imagePullPolicy: Never
  ignorePreflightErrors: [${IGNORE_PREFLIGHT:-}]
  kubeletExtraArgs:
    - name: node-ip
      value: $MASTER_IP
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: local-cluster
kubernetesVersion: $KUBE_VERSION
controlPlaneEndpoint: $MASTER:6443
networking:
  podSubnet: $POD_SUBNET
  serviceSubnet: $SERVICE_SUBNET
  dnsDomain: cluster.local
apiServer:
  certSANs: [localhost, 127.0.0.1, $MASTER, $MASTER_IP]
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
failSwapOn: false
# never garbage-collect the preloaded images (they cannot be pulled again), never evict on
# the host's disk usage
imageGCHighThresholdPercent: 100
evictionHard:
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
conntrack:
  # nf_conntrack_max is not per network namespace: leave the host's alone
  maxPerCore: 0
EOF
say "kubeadm init on $MASTER ($MASTER_IP)"
t0=$(now)
if ! docker exec "$MASTER" kubeadm init --config /etc/kubernetes/kubeadm-init.yaml --skip-token-print >"$LOGDIR/kubeadm-init.log" 2>&1; then
  cat "$LOGDIR/kubeadm-init.log"
  docker exec "$MASTER" journalctl -u kubelet --no-pager | tail -n 40
  exit 1
fi
T_INIT=$(since "$t0")
say "kubeadm init done in ${T_INIT}s"
K=(docker exec "$MASTER" kubectl --kubeconfig /etc/kubernetes/admin.conf)
KI=(docker exec -i "$MASTER" kubectl --kubeconfig /etc/kubernetes/admin.conf)  # with stdin

# --- workers ------------------------------------------------------------------------------------
# Token discovery needs the cluster-info ConfigMap signed for the token (jws-kubeconfig-<id>),
# which the controller-manager's bootstrap signer adds a few seconds after init; kubeadm join
# would otherwise poll for it every 5 s.
if [[ $WORKERS -gt 0 ]]; then
  t0=$(now)
  wait_for 60 "cluster-info signature" sh -c "${K[*]} -n kube-public get configmap cluster-info -o jsonpath='{.data}' | grep -q jws-kubeconfig-${TOKEN%%.*}"
  say "cluster-info signed for the token $(since "$t0")s after init"
fi
T_JOIN=()
for n in "${NODES[@]:1}"; do
  ip=$(node_ip "$n")
  docker exec -i "$n" sh -c 'cat >/etc/kubernetes/kubeadm-join.yaml' <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: $MASTER:6443
    token: "$TOKEN"
    unsafeSkipCAVerification: true
nodeRegistration:
  name: $n
  criSocket: unix:///run/containerd/containerd.sock
  imagePullPolicy: Never
  ignorePreflightErrors: [${IGNORE_PREFLIGHT:-}]
  kubeletExtraArgs:
    - name: node-ip
      value: $ip
EOF
  say "kubeadm join on $n ($ip)"
  t0=$(now)
  if ! docker exec "$n" kubeadm join --config /etc/kubernetes/kubeadm-join.yaml >"$LOGDIR/kubeadm-join-$n.log" 2>&1; then
    cat "$LOGDIR/kubeadm-join-$n.log"
    exit 1
  fi
  T_JOIN+=("$(since "$t0")")
  say "$n joined in ${T_JOIN[-1]}s"
done

# --- bridge CNI -----------------------------------------------------------------------------------
t0=$(now)
declare -A CIDR IP
for n in "${NODES[@]}"; do
  wait_for 60 "podCIDR of $n" sh -c "[ -n \"\$(${K[*]} get node $n -o jsonpath='{.spec.podCIDR}')\" ]"
  CIDR[$n]=$("${K[@]}" get node "$n" -o jsonpath='{.spec.podCIDR}')
  IP[$n]=$(node_ip "$n")
done
for n in "${NODES[@]}"; do
  docker exec -i "$n" sh -c 'cat >/etc/cni/net.d/10-local-cluster.conflist' <<EOF
{
  "cniVersion": "0.4.0",
  "name": "local-cluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "lc0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "${CIDR[$n]}" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  # Routes to the other nodes' pod CIDRs and the masquerade rule live in the node's network
  # namespace, which is new after every container restart: write them as an entrypoint hook
  # (re-applied at each start) and apply them now.
  {
    echo '#!/bin/sh'
    echo '# written by test-cluster.sh: pod network routes (bridge CNI)'
    echo 'set -e'
    for m in "${NODES[@]}"; do
      [[ $m == "$n" ]] || echo "ip route replace ${CIDR[$m]} via ${IP[$m]}"
    done
    echo '# pods reaching anything outside the pod network leave with the node address'
    echo "iptables -t nat -C POSTROUTING -s $POD_SUBNET ! -d $POD_SUBNET -j MASQUERADE 2>/dev/null ||"
    echo "  iptables -t nat -A POSTROUTING -s $POD_SUBNET ! -d $POD_SUBNET -j MASQUERADE"
  } | docker exec -i "$n" sh -c 'mkdir -p /etc/local-cluster/entrypoint.d && cat >/etc/local-cluster/entrypoint.d/50-pod-network.sh && sh /etc/local-cluster/entrypoint.d/50-pod-network.sh'
  say "$n: pod CIDR ${CIDR[$n]}, CNI config + routes written"
done

# --- wait for Ready ----------------------------------------------------------------------------------
all_ready() { [[ $("${K[@]}" get nodes --no-headers | awk '$2 == "Ready"' | wc -l) == "${#NODES[@]}" ]]; }
wait_for 300 "all nodes Ready" all_ready
say "all ${#NODES[@]} nodes Ready ($(since "$t0")s after CNI config)"
coredns_ready() { "${K[@]}" -n kube-system wait --for=condition=Ready pod -l k8s-app=kube-dns --timeout=5s; }
wait_for 300 "CoreDNS Ready" coredns_ready
T_READY=$(since "$T_START")
say "CoreDNS Ready; cluster usable ${T_READY}s after start"
"${K[@]}" get nodes -o wide
"${K[@]}" get pods -A -o wide

# --- checks ---------------------------------------------------------------------------------------------
DNS_IP=$("${K[@]}" -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIP}')
LAST=${NODES[-1]}
PROXY_IMAGE=$(docker exec "$MASTER" awk '/kube-proxy:/ { print $1 }' /usr/local/share/local-cluster/images/images.txt)
retry() { # retry SECONDS COMMAND... : rerun until success; prints the last output
  local limit=$1 t0 out; shift; t0=$(now)
  while true; do
    if out=$("$@" 2>&1); then echo "$out"; return 0; fi
    if awk -v a="$t0" -v b="$(now)" -v t="$limit" 'BEGIN { exit !(b - a > t) }'; then echo "$out"; return 1; fi
    sleep 1
  done
}
# (1) from each node through the cluster DNS service: cluster names, and a Docker network name
# (CoreDNS -> node resolv.conf -> gateway NAT -> Docker's embedded DNS)
dns_check() {
  docker exec "$1" unshare -m sh -c "echo 'nameserver $DNS_IP' >/tmp/resolv.dns && mount --bind /tmp/resolv.dns /etc/resolv.conf &&
    getent hosts kubernetes.default.svc.cluster.local && getent hosts kube-dns.kube-system.svc.cluster.local && getent hosts $MASTER"
}
# (2) from a pod on the last node (ClusterFirst DNS, search path, service VIP, cross-node pod
# traffic). No image here has a DNS client: borrow the node's getent (the kube-proxy image
# carries the same Debian libc).
pod_dns_check() {
  "${K[@]}" delete pod dns-check --ignore-not-found --wait=true >/dev/null 2>&1 || true
  "${KI[@]}" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: { name: dns-check, namespace: default }
spec:
  nodeName: $LAST
  restartPolicy: Never
  containers:
    - name: check
      image: $PROXY_IMAGE
      imagePullPolicy: Never
      command: [/bin/sh, -c, "getent hosts kubernetes.default && getent hosts kube-dns.kube-system && getent hosts $MASTER"]
      volumeMounts: [{ name: getent, mountPath: /usr/local/bin/getent, readOnly: true }]
  volumes: [{ name: getent, hostPath: { path: /usr/bin/getent, type: File } }]
EOF
  local i phase=
  for i in $(seq 1 30); do
    phase=$("${K[@]}" get pod dns-check -o jsonpath='{.status.phase}' 2>/dev/null || true)
    [[ $phase == Succeeded || $phase == Failed ]] && break
    sleep 1
  done
  "${K[@]}" logs dns-check 2>&1
  [[ $phase == Succeeded ]]
}
checks() {
  local n ip out
  for n in "${NODES[@]}"; do
    if out=$(retry 30 dns_check "$n"); then say "DNS via $DNS_IP from node $n OK: $(echo "$out" | tr -s ' \n' ' ')"; else say "DNS via $DNS_IP from node $n FAILED: $out"; fi
  done
  if out=$(retry 45 pod_dns_check); then say "DNS from a pod on $LAST OK: $(echo "$out" | tr -s ' \n' ' ')"; else say "DNS from a pod on $LAST FAILED: $out"; fi
  for ip in $("${K[@]}" -n kube-system get pods -l k8s-app=kube-dns -o jsonpath='{.items[*].status.podIP}'); do
    for n in "${NODES[@]}"; do
      if docker exec "$n" ping -c1 -W2 "$ip" >/dev/null 2>&1; then say "ping CoreDNS pod $ip from $n OK"; else say "ping CoreDNS pod $ip from $n FAILED"; fi
    done
  done
}
checks
SUMMARY="kubeadm init ${T_INIT}s, join ${T_JOIN[*]:-none}s, all Ready + CoreDNS ${T_READY}s after start"

if [[ ${RESTART:-0} == 1 ]]; then
  say "restarting all node containers"
  t0=$(now)
  docker restart "${NODES[@]}" >/dev/null
  wait_for 300 "all nodes Ready after restart" all_ready
  wait_for 300 "API server after restart" "${K[@]}" get --raw /readyz
  wait_for 300 "CoreDNS Ready after restart" coredns_ready
  T_RESTART=$(since "$t0")
  say "cluster back (nodes + CoreDNS Ready) ${T_RESTART}s after docker restart"
  "${K[@]}" get pods -A -o wide
  checks
  SUMMARY="$SUMMARY; restart to Ready ${T_RESTART}s"
fi
if [[ ${KEEP:-0} != 1 ]]; then
  # clean stop: systemd halts on the image's StopSignal (SIGRTMIN+3); exit 137 means docker
  # had to SIGKILL after its 10 s timeout
  t0=$(now)
  docker stop "${NODES[@]}" >/dev/null
  SUMMARY="$SUMMARY; docker stop ${#NODES[@]} nodes $(since "$t0")s (exit codes: $(for n in "${NODES[@]}"; do docker inspect -f '{{.State.ExitCode}}' "$n"; done | tr '\n' ' '))"
fi
say "summary: $SUMMARY"
