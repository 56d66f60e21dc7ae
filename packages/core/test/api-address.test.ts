import { describe, expect, it } from 'vitest';
import { apiServerPublish, apiServerUrl, configSchema, isConfigError, planNodes, renderClusterKubeadm, CNI_API_VERSION, type CniPlugin } from '../src/index.js';
import { loadConfig } from '../src/config/load.js';

const config = (cluster: Record<string, unknown> = {}) => configSchema.parse({ cluster });
const at = (endpoint: string, remote: boolean, address: string) => ({ location: { endpoint, remote, address } });
const cni: CniPlugin = { apiVersion: CNI_API_VERSION, kind: 'cni', name: 'bridge', defaultPodSubnet: '10.244.0.0/16' };

describe('apiServerPublish (where the API server port is published, what the kubeconfig names)', () => {
  it('is 127.0.0.1 for a local engine, and for a driver that does not say', () => {
    expect(apiServerPublish(config(), at('unix:///var/run/docker.sock', false, '127.0.0.1'))).toEqual({ listen: '127.0.0.1', address: '127.0.0.1', remote: false });
    expect(apiServerPublish(config(), at('tcp://127.0.0.1:23760', false, '127.0.0.1'))).toEqual({ listen: '127.0.0.1', address: '127.0.0.1', remote: false });
    expect(apiServerPublish(config(), {})).toEqual({ listen: '127.0.0.1', address: '127.0.0.1', remote: false });
  });

  it("listens on every address of a remote engine's machine and names its host", () => {
    expect(apiServerPublish(config(), at('tcp://build-box.lan:2376', true, 'build-box.lan'))).toEqual({ listen: '0.0.0.0', address: 'build-box.lan', remote: true });
  });

  it('follows cluster.apiServerAddress: an IP is listened on, a name listens on 0.0.0.0', () => {
    expect(apiServerPublish(config({ apiServerAddress: '192.168.1.20' }), at('tcp://build-box.lan:2376', true, 'build-box.lan'))).toEqual({ listen: '192.168.1.20', address: '192.168.1.20', remote: true });
    expect(apiServerPublish(config({ apiServerAddress: 'cluster.example' }), {})).toEqual({ listen: '0.0.0.0', address: 'cluster.example', remote: false });
  });

  it('writes URLs', () => {
    expect(apiServerUrl('10.0.0.5', 30123)).toBe('https://10.0.0.5:30123');
  });

  it('puts the address in the API server certificate', () => {
    expect(renderClusterKubeadm(config(), planNodes(config()), cni, 'build-box.lan')).toMatch(/certSANs:\n(\s+- .*\n)*\s+- build-box\.lan\n/);
    expect(renderClusterKubeadm(config(), planNodes(config()), cni)).not.toContain('build-box');
  });

  it('refuses an address that is neither an IPv4 address nor a host name, naming the setting', () => {
    let error: unknown;
    try {
      loadConfig({ env: { LOCAL_CLUSTER_APISERVER_ADDRESS: 'not an address!', LOCAL_CLUSTER_HOME: '/nonexistent-lc-home' } });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('cluster.apiServerAddress');
  });
});
