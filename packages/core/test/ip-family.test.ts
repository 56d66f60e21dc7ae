import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { HOME_ENV, loadConfig, type LoadConfigOptions } from '../src/config/load.js';
import { configSchema, nearLastAddress6, nthAddress6, parseCidr6, type ConfigInput } from '../src/config/schema.js';
import { defaultSubnet6, familiesOf, ipv6Ranges } from '../src/config/ip-family.js';
import { isConfigError, isPreflightError, type ConfigError } from '../src/errors.js';
import { clusterRangesHook } from '../src/lifecycle/cluster-ranges.js';
import { checkCniFamilies } from '../src/lifecycle/steps/preflight.js';
import { chooseSubnet6 } from '../src/lifecycle/subnet.js';
import { CNI_API_VERSION, planNodes, renderClusterKubeadm, snapshotConfigHash, type CniPlugin, type NetworkInfo } from '../src/index.js';
import { tempDir, thrownBy } from './helpers.js';

const bridgeLike = (ipFamilies: ('ipv4' | 'ipv6')[]): CniPlugin => ({ apiVersion: CNI_API_VERSION, kind: 'cni', name: 'bridge', defaultPodSubnet: '10.244.0.0/16', supports: { multiNode: true, ipFamilies }, configure: () => ({ podSubnet: '10.244.0.0/16' }) });

function load(options: LoadConfigOptions = {}) {
  return loadConfig({ cwd: tempDir(), ...options, env: { [HOME_ENV]: tempDir('local-cluster-home-'), ...(options.env as Record<string, string>) } });
}

function configError(options: LoadConfigOptions): ConfigError {
  const error = thrownBy(() => load(options));
  expect(isConfigError(error), String(error)).toBe(true);
  return error as ConfigError;
}

const config = (input: ConfigInput) => configSchema.parse(input);

/** The documents of `local-cluster config kubeadm` for a config. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the kubeadm documents, read field by field
type AnyDoc = Record<string, any>;
function kubeadmDocs(input: ConfigInput): AnyDoc[] {
  const c = config(input);
  return yaml.loadAll(renderClusterKubeadm(c, planNodes(c), bridgeLike(['ipv4', 'ipv6']))) as AnyDoc[];
}

describe('IPv6 addresses', () => {
  it('parses IPv6 CIDRs and counts addresses in them', () => {
    expect(parseCidr6('fd00:10:241::/64')).toEqual({ address: 'fd00:10:241::', prefix: 64 });
    expect(parseCidr6('10.0.0.0/8')).toBeUndefined();
    expect(parseCidr6('fd00::/129')).toBeUndefined();
    expect(nthAddress6('fd00:10:241::/64', 2)).toBe('fd00:10:241::2');
    expect(nthAddress6('fd00:10:241::/64', 0x10000)).toBe('fd00:10:241::1:0');
    expect(nearLastAddress6('fd00:10:244::/56')).toBe('fd00:10:244:ff:ffff:ffff:ffff:fffe');
  });

  it('derives the node network IPv6 range from the IPv4 one, and picks a free one when taken', () => {
    expect(defaultSubnet6('10.241.0.0/16')).toBe('fd00:10:241::/64');
    const net = (name: string, subnets: string[]): NetworkInfo => ({ id: name, name, subnets, labels: {} });
    expect(chooseSubnet6('c', '10.241.0.0/16', [])).toBe('fd00:10:241::/64');
    expect(chooseSubnet6('c', '10.241.0.0/16', [net('other', ['10.9.0.0/16', 'fd00:10:241::/64'])])).toBe('fd00:10:242::/64');
    // the cluster's own network keeps its range
    expect(chooseSubnet6('c', '10.241.0.0/16', [{ ...net('local-cluster-c', ['10.241.0.0/16', 'fd00:77::/64']), labels: { 'dev.local-cluster.cluster': 'c' } }])).toBe('fd00:77::/64');
  });
});

describe('cluster.ipFamily and the IPv6 settings', () => {
  it('defaults to ipv4; --ip-family dual and ipv6 are taken', () => {
    expect(load().config.cluster.ipFamily).toBe('ipv4');
    expect(load({ flags: { 'ip-family': 'dual' } }).config.cluster.ipFamily).toBe('dual');
    expect(familiesOf(load({ flags: { 'ip-family': 'dual' } }).config)).toEqual(['ipv4', 'ipv6']);
    expect(familiesOf(load({ env: { LOCAL_CLUSTER_IP_FAMILY: 'ipv6' } }).config)).toEqual(['ipv6']);
  });

  it('refuses an unknown --ip-family, naming the setting', () => {
    const e = configError({ flags: { 'ip-family': 'ipv5' } });
    expect(e.setting).toBe('cluster.ipFamily');
    expect(e.message).toMatch(/cluster\.ipFamily.*ipv4, ipv6 or dual/);
  });

  it('refuses a dind.subnet6 that is not IPv6, not unique local, or overlaps the pod or Service range', () => {
    const notV6 = configError({ flags: { 'ip-family': 'dual', 'dind-subnet6': '10.9.0.0/16' } });
    expect(notV6.setting).toBe('dind.subnet6');
    expect(notV6.message).toMatch(/not an IPv6 CIDR/);
    const global = configError({ flags: { 'ip-family': 'dual', 'dind-subnet6': '2001:db8::/64' } });
    expect(global.setting).toBe('dind.subnet6');
    expect(global.message).toMatch(/unique local/);
    const overlap = configError({ flags: { 'ip-family': 'dual', 'dind-subnet6': 'fd00:10:244::/64' } });
    expect(overlap.setting).toBe('dind.subnet6');
    expect(overlap.message).toMatch(/overlaps cluster\.podSubnet6 fd00:10:244::\/56/);
    const service = configError({ flags: { 'ip-family': 'ipv6', 'dind-subnet6': 'fd00:10:96::/64' } });
    expect(service.message).toMatch(/overlaps cluster\.serviceSubnet6/);
  });

  it('refuses IPv6 ranges on an IPv4 cluster, and the parts not made for IPv6 yet', () => {
    const e = configError({ flags: { 'dind-subnet6': 'fd00:10:9::/64' } });
    expect(e.setting).toBe('dind.subnet6');
    expect(e.message).toMatch(/cluster\.ipFamily is ipv4/);
    for (const [flags, setting] of [
      [{ 'hollow-nodes': '2' }, 'cluster.hollowNodes'],
      [{ 'fake-nodes': '2' }, 'cluster.fakeNodes'],
      [{ 'control-planes': '3' }, 'cluster.controlPlanes'],
      [{ 'dind-network': 'shared' }, 'dind.network'],
    ] as const) {
      const refused = configError({ flags: { 'ip-family': 'dual', ...flags } });
      expect(refused.setting).toBe(setting);
      expect(refused.message).toMatch(/cannot go with cluster\.ipFamily dual/);
    }
  });
});

describe('preflight: the CNI plugin serves the families', () => {
  it('refuses a CNI whose supports.ipFamilies lacks a family of the cluster, naming plugin and family', () => {
    expect(() => checkCniFamilies({ config: config({ cluster: { ipFamily: 'dual' } }), cni: bridgeLike(['ipv4', 'ipv6']) })).not.toThrow();
    const e = thrownBy(() => checkCniFamilies({ config: config({ cluster: { ipFamily: 'dual' } }), cni: { ...bridgeLike(['ipv4']), name: 'weave' } }));
    expect(isPreflightError(e)).toBe(true);
    expect(String((e as Error).message)).toMatch(/cluster\.ipFamily is dual, but CNI plugin "weave" cannot serve IPv6/);
    expect(() => checkCniFamilies({ config: config({ cluster: { ipFamily: 'ipv6' } }), cni: { ...bridgeLike(['ipv4']), name: 'weave' } })).toThrow(/cannot serve IPv6/);
  });
});

describe('kubeadm documents per family', () => {
  it('dual: both pod and Service ranges, node-ip of both families, both addresses in the certificate', () => {
    const [init, cluster, , proxy, join] = kubeadmDocs({ dind: { subnet: '10.241.0.0/16' }, cluster: { ipFamily: 'dual', numNodes: 1 } });
    expect(init!.localAPIEndpoint.advertiseAddress).toBe('10.241.0.2');
    expect(init!.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'node-ip', value: '10.241.0.2,fd00:10:241::2' });
    expect(cluster!.networking).toMatchObject({ podSubnet: '10.244.0.0/16,fd00:10:244::/56', serviceSubnet: '10.96.0.0/12,fd00:10:96::/112' });
    expect(cluster!.apiServer.certSANs).toEqual(expect.arrayContaining(['10.241.0.2', 'fd00:10:241::2']));
    expect(proxy!.clusterCIDR).toBe('10.244.0.0/16,fd00:10:244::/56');
    expect(join!.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'node-ip', value: '10.241.0.3,fd00:10:241::3' });
  });

  it('ipv6: IPv6 ranges only, the API server advertised at its IPv6 address', () => {
    const [init, cluster, , proxy] = kubeadmDocs({ dind: { subnet: '10.242.0.0/16' }, cluster: { ipFamily: 'ipv6', numNodes: 0, serviceSubnet6: 'fd00:10:97::/112' } });
    expect(init!.localAPIEndpoint.advertiseAddress).toBe('fd00:10:242::2');
    expect(init!.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'node-ip', value: 'fd00:10:242::2' });
    expect(cluster!.networking).toMatchObject({ podSubnet: 'fd00:10:244::/56', serviceSubnet: 'fd00:10:97::/112' });
    expect(proxy!.clusterCIDR).toBe('fd00:10:244::/56');
    expect(planNodes(config({ dind: { subnet: '10.242.0.0/16' }, cluster: { ipFamily: 'ipv6' } })).apiEndpointAddress).toBe('fd00:10:242::2');
  });

  it('ipv4 (the default): the documents, the node plan and the snapshot hash are what they were before cluster.ipFamily', () => {
    const [init, cluster] = kubeadmDocs({});
    expect(init!.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'node-ip', value: '10.192.0.2' });
    expect(cluster!.networking).toEqual({ serviceSubnet: '10.96.0.0/12', dnsDomain: 'cluster.local', podSubnet: '10.244.0.0/16' });
    expect(planNodes(config({})).nodes[0]).not.toHaveProperty('address6');
    const cni: CniPlugin = { apiVersion: CNI_API_VERSION, kind: 'cni', name: 'bridge', defaultPodSubnet: '10.244.0.0/16' };
    const hashOf = (resolved: ReturnType<typeof config>) => snapshotConfigHash({ config: resolved, driver: { info: async () => ({}) } as never, cni, nodeImage: { ref: 'local-cluster/node:v1.34.4-abc' } }, '10.244.0.0/16');
    const hash = (input: ConfigInput) => hashOf(config(input));
    // what main computed for these configs with the IPv6 settings merged: an ipv4 cluster's hash
    // leaves them out (it was d9d2ca1f93d62dd5 / 1e63534981d982d6 before the ingress and
    // hollow-nodes-on settings were merged the same day: every new cluster.* setting changes it,
    // and a snapshot made before is then replaced, as `up` says)
    expect(hash({})).toBe('d02c2ea0f6ebbcdf');
    expect(hash({ cluster: { ipFamily: 'ipv4', podSubnet6: undefined } })).toBe(hash({}));
    expect(hash({ cluster: { ipFamily: 'dual' } })).not.toBe(hash({}));
    expect(hash({ cluster: { ipFamily: 'dual' }, dind: { subnet6: 'fd00:10:9::/64' } })).not.toBe(hash({ cluster: { ipFamily: 'dual' } }));
  });
});

describe('traffic containment in IPv6', () => {
  it('rejects what is still addressed to the IPv6 Service range and makes the IPv6 pod range unreachable, and turns IPv6 on in the node', () => {
    const v6 = ipv6Ranges(config({ cluster: { ipFamily: 'dual' } }));
    const hook = clusterRangesHook('10.96.0.0/12', '10.244.0.0/16', { serviceSubnet: v6.service, podSubnet: v6.pod });
    expect(hook).toContain('ip6 daddr fd00:10:96::/112 meta l4proto tcp reject with tcp reset');
    expect(hook).toContain('ip6 daddr fd00:10:96::/112 reject');
    expect(hook).toContain('ip -6 route replace unreachable fd00:10:244::/56 metric 4242');
    expect(hook).toContain('net.ipv6.conf.default.disable_ipv6=0');
    expect(clusterRangesHook('10.96.0.0/12', '10.244.0.0/16')).not.toMatch(/ip6|ipv6/);
  });
});
