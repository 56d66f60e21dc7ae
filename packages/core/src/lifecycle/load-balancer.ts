import { sharedNetworkLabels } from './shared-network.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { ImageRequirement } from '../contracts/context.js';
import type { NodeSpec } from '../contracts/driver.js';
import { API_SERVER_PORT, containerName, ownerLabels } from './naming.js';
import type { NodePlan } from './node-plan.js';

/**
 * The load balancer in front of the API servers of a cluster with several control planes:
 * HAProxy from the machine's Debian packages (the image factory builds it), TCP passthrough,
 * each API server checked on /readyz every second and taken out after two misses.
 * kind runs Envoy for this; Debian ships HAProxy, so no Go or C build is needed.
 */

export const LOAD_BALANCER_IMAGE = 'docker.io/local-cluster/haproxy:2.6';
const CONFIG_ENV = 'LOCAL_CLUSTER_HAPROXY_CONFIG';
const CONFIG_FILE = '/tmp/haproxy.cfg';

export const loadBalancerImage: ImageRequirement = {
  ref: LOAD_BALANCER_IMAGE,
  recipe: {
    debianPackages: ['haproxy'],
    shell: true,
    // the config travels in the container's environment, so an engine restart brings it back unchanged
    entrypoint: ['/bin/sh', '-c', `printf '%s\\n' "$${CONFIG_ENV}" > ${CONFIG_FILE} && exec /usr/sbin/haproxy -W -db -f ${CONFIG_FILE}`],
  },
  loadIntoNodes: false,
};

/** The HAProxy configuration: every control plane's API server as a backend. */
export function haproxyConfig(plan: NodePlan): string {
  const servers = plan.nodes
    .filter((n) => n.role === 'control-plane')
    .map((n) => `  server ${n.hostname} ${n.address}:${API_SERVER_PORT}`);
  return [
    'global',
    '  maxconn 4000',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    // watches and exec streams stay open for long
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout check 2s',
    // a connection to a server that just went away is retried on another
    '  retries 2',
    '  option redispatch',
    'frontend kube-apiserver',
    `  bind :${API_SERVER_PORT}`,
    '  default_backend control-planes',
    'backend control-planes',
    '  balance roundrobin',
    '  option httpchk',
    '  http-check send meth GET uri /readyz',
    '  http-check expect status 200',
    '  default-server check check-ssl verify none inter 1s fall 2 rise 1',
    ...servers,
    '',
  ].join('\n');
}

/** The load balancer's container: fixed address, the API server's host port published on it (at `listen`, 127.0.0.1 unless told otherwise). */
export function loadBalancerSpec(config: ResolvedConfig, plan: NodePlan, network: string, hostPort: number, listen = '127.0.0.1'): NodeSpec {
  const cluster = config.cluster.name;
  if (!plan.loadBalancer) throw new Error(`cluster "${cluster}" has one control plane: no load balancer`);
  return {
    name: containerName(cluster, plan.loadBalancer.hostname),
    hostname: plan.loadBalancer.hostname,
    image: LOAD_BALANCER_IMAGE,
    network,
    ip: plan.loadBalancer.address,
    labels: { ...ownerLabels(cluster, 'load-balancer'), ...sharedNetworkLabels(config) },
    env: { [CONFIG_ENV]: haproxyConfig(plan) },
    ports: [{ containerPort: API_SERVER_PORT, hostIp: listen, hostPort }],
    privileged: false,
  };
}
