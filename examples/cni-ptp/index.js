// @ts-check
/**
 * local-cluster-cni-ptp: an example CNI plugin package, written the way the
 * "Writing a CNI plugin" kit (docs/extending/cni-plugin.md) describes. It imports nothing from
 * local-cluster at run time (the types below are erased), so it loads wherever
 * it is installed.
 *
 * What it does on every node: pods get a veth pair (the `ptp` CNI plugin) with
 * an address from the node's pod CIDR (`host-local`), and a route to every
 * other node's pod CIDR via that node sends pod traffic across. A DaemonSet
 * installs the CNI binaries and config and keeps the routes in place (also
 * after a node restarts from a snapshot).
 *
 * @typedef {import('@local-cluster/core').CniPlugin} CniPlugin
 * @typedef {import('@local-cluster/core').ClusterContext} ClusterContext
 * @typedef {import('@local-cluster/core').ImageRequirement} ImageRequirement
 */

const PLUGINS_MODULE = 'github.com/containernetworking/plugins';
const PLUGINS_VERSION = 'v1.9.1';
export const IMAGE = `docker.io/local-cluster-example/cni-ptp:${PLUGINS_VERSION}`;
const NAMESPACE = 'kube-system';
const NAME = 'cni-ptp';

/** @returns {ImageRequirement[]} */
export function images() {
  const binary = (/** @type {string} */ dir, /** @type {string} */ name) => ({
    module: PLUGINS_MODULE,
    version: PLUGINS_VERSION,
    package: `plugins/${dir}/${name}`,
    binary: name,
    dir: '/cni',
    ldflags: [`-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${PLUGINS_VERSION}`],
  });
  return [
    {
      ref: IMAGE,
      recipe: {
        go: [binary('main', 'ptp'), binary('ipam', 'host-local'), binary('main', 'loopback'), binary('meta', 'portmap')],
        debianPackages: ['iproute2'],
        shell: true,
        files: [{ path: '/install.sh', mode: 0o755, content: INSTALL_SCRIPT }],
        entrypoint: ['/bin/sh'],
      },
    },
  ];
}

/**
 * Runs in the DaemonSet on every node (host network): copies the binaries,
 * writes the CNI config for this node's pod CIDR, then keeps the routes to the
 * other nodes' pod CIDRs (from the ConfigMap install() writes).
 */
const INSTALL_SCRIPT = `#!/bin/sh
set -e
for b in ptp host-local loopback portmap; do cp -f /cni/$b /host/opt/cni/bin/$b.tmp && mv -f /host/opt/cni/bin/$b.tmp /host/opt/cni/bin/$b; done
own=$(awk -v n="$NODE_NAME" '$1 == n { print $2 }' /config/nodes)
[ -n "$own" ] || { echo "no pod CIDR for node $NODE_NAME in /config/nodes"; exit 1; }
cat >/host/etc/cni/net.d/10-ptp.conflist.tmp <<CONF
{
  "cniVersion": "1.0.0",
  "name": "ptp-example",
  "plugins": [
    { "type": "ptp", "ipMasq": false,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$own" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CONF
mv -f /host/etc/cni/net.d/10-ptp.conflist.tmp /host/etc/cni/net.d/10-ptp.conflist
echo "node $NODE_NAME: pod CIDR $own, CNI config written"
while true; do
  while read -r node cidr ip; do
    [ "$node" = "$NODE_NAME" ] || ip route replace "$cidr" via "$ip"
  done </config/nodes
  sleep 10
done
`;

/**
 * @param {{ podSubnet?: string }} [options]
 * @returns {CniPlugin}
 */
export default function ptp(options = {}) {
  const podSubnet = options.podSubnet ?? '10.250.0.0/16';
  return {
    apiVersion: 'local-cluster.dev/cni/v1',
    kind: 'cni',
    name: 'ptp-example',
    defaultPodSubnet: podSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4'] },
    images,
    configure: () => ({ podSubnet }),
    async install(ctx) {
      // every node's pod CIDR (the controller manager assigns them) and address
      const nodes = [];
      for (const node of ctx.nodes) {
        let cidr = '';
        for (let i = 0; i < 120 && !cidr; i++) {
          cidr = (await ctx.kubectl(['get', 'node', node.hostname, '-o', 'jsonpath={.spec.podCIDR}'])).trim();
          if (!cidr) await new Promise((r) => setTimeout(r, 500));
        }
        if (!cidr) throw new Error(`node ${node.hostname} got no pod CIDR: is the pod subnet set?`);
        nodes.push(`${node.hostname} ${cidr} ${await node.ip()}`);
      }
      const labels = { app: NAME };
      await ctx.apply([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: NAME, namespace: NAMESPACE }, data: { nodes: nodes.join('\n') + '\n' } },
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: NAME, namespace: NAMESPACE, labels },
          spec: {
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                hostNetwork: true,
                priorityClassName: 'system-node-critical',
                tolerations: [{ operator: 'Exists' }],
                containers: [
                  {
                    name: 'install',
                    image: IMAGE,
                    imagePullPolicy: 'IfNotPresent',
                    args: ['/install.sh'],
                    env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                    securityContext: { capabilities: { add: ['NET_ADMIN'] } },
                    readinessProbe: { exec: { command: ['test', '-f', '/host/etc/cni/net.d/10-ptp.conflist'] }, periodSeconds: 2 },
                    volumeMounts: [
                      { name: 'cni-bin', mountPath: '/host/opt/cni/bin' },
                      { name: 'cni-conf', mountPath: '/host/etc/cni/net.d' },
                      { name: 'config', mountPath: '/config' },
                    ],
                  },
                ],
                volumes: [
                  { name: 'cni-bin', hostPath: { path: '/opt/cni/bin' } },
                  { name: 'cni-conf', hostPath: { path: '/etc/cni/net.d' } },
                  { name: 'config', configMap: { name: NAME } },
                ],
              },
            },
          },
        },
      ]);
    },
    async waitReady(ctx) {
      await ctx.waitForRollout('daemonset', NAMESPACE, NAME, { timeoutSeconds: 180 });
    },
  };
}
