import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configuredRegistryHosts, registryHostsFiles } from '../../src/lifecycle/registry-hosts.js';
import { attachedAddress, planNodes } from '../../src/lifecycle/node-plan.js';
import { hollowAddress } from '../../src/lifecycle/hollow-nodes.js';
import { fakeNodesAddress } from '../../src/lifecycle/fake-nodes.js';
import { isConfigError } from '../../src/errors.js';
import { tempDir, thrownBy, writeTree } from '../helpers.js';

// cluster.registries: what the config accepts and refuses, and the hosts.toml the nodes get.
const fromFile = (text: string, files: Record<string, string> = {}) => {
  const dir = tempDir();
  writeTree(dir, { 'c.yaml': text, ...files });
  return { dir, load: () => loadConfig({ file: join(dir, 'c.yaml'), env: {} }) };
};
const message = (fn: () => unknown) => {
  const error = thrownBy(fn);
  expect(isConfigError(error), String(error)).toBe(true);
  return (error as Error).message;
};

describe('cluster.registry and cluster.registryPort', () => {
  it('are off and 5001 by default; --registry and --registry-port set them', () => {
    expect(loadConfig({ env: {} }).config.cluster).toMatchObject({ registry: false, registryPort: 5001, registries: { mirrors: {}, configs: {} } });
    expect(loadConfig({ env: {}, flags: { registry: true, 'registry-port': '5555' } }).config.cluster).toMatchObject({ registry: true, registryPort: 5555 });
  });

  it('refuses a port that is not one, naming the setting', () => {
    expect(message(() => loadConfig({ env: {}, flags: { 'registry-port': '70000' } }))).toMatch(/cluster\.registryPort \(from flag --registry-port\)/);
  });
});

describe('cluster.registries', () => {
  it('refuses a mirror URL that does not parse, naming the entry', () => {
    expect(message(fromFile('cluster:\n  registries:\n    mirrors:\n      docker.io: ["mirror.lan:5000"]\n').load)).toMatch(/cluster\.registries\.mirrors\.docker\.io\[0\].*"mirror\.lan:5000" is not an http:\/\/ or https:\/\/ URL|is not a URL/);
    expect(message(fromFile('cluster:\n  registries:\n    mirrors:\n      docker.io: ["http://"]\n').load)).toMatch(/cluster\.registries\.mirrors\.docker\.io\[0\]/);
    expect(message(fromFile('cluster:\n  registries:\n    mirrors:\n      docker.io: ["ftp://mirror.lan"]\n').load)).toMatch(/"ftp:\/\/mirror\.lan" is not an http:\/\/ or https:\/\/ URL/);
    expect(message(fromFile('cluster:\n  registries:\n    mirrors:\n      docker.io: ["http://u:p@mirror.lan"]\n').load)).toMatch(/carries credentials: put them in cluster\.registries\.configs/);
    expect(message(fromFile('cluster:\n  registries:\n    mirrors:\n      "bad name/x": ["http://mirror.lan"]\n').load)).toMatch(/Invalid key "bad name\/x" in cluster\.registries\.mirrors.*not a registry name/);
    expect(message(fromFile('cluster:\n  registries:\n    mirrors:\n      docker.io: []\n').load)).toMatch(/list at least one mirror URL/);
  });

  it('refuses a CA file that does not exist, naming the entry and the path', () => {
    const { dir, load } = fromFile('cluster:\n  registries:\n    mirrors:\n      docker.io: ["https://mirror.lan"]\n    configs:\n      mirror.lan: {ca: ./missing.pem}\n');
    expect(message(load)).toContain(`The CA file of cluster.registries.configs.mirror.lan.ca does not exist: ${join(dir, 'missing.pem')}`);
  });

  it('refuses credentials for a registry the mirrors do not list', () => {
    const text = 'cluster:\n  registries:\n    mirrors:\n      docker.io: ["https://mirror.lan:5000"]\n    configs:\n      mirror.lan:5001: {username: me, password: secret}\n';
    const m = message(fromFile(text).load);
    expect(m).toContain('Credentials are given for registry "mirror.lan:5001" (cluster.registries.configs.mirror.lan:5001), which cluster.registries.mirrors does not list (it lists docker.io, mirror.lan:5000)');
    expect(message(fromFile('cluster:\n  registries:\n    configs:\n      mirror.lan: {username: me}\n').load)).toMatch(/username and password go together/);
  });

  it('refuses an unknown key in an entry', () => {
    expect(message(fromFile('cluster:\n  registries:\n    mirrors: {docker.io: ["http://m"]}\n    configs:\n      m: {cert: x}\n').load)).toMatch(/cluster\.registries\.configs\.m/);
  });

  it('renders hosts.toml: mirrors in order before the server, plain http, a CA copied next to it, skip_verify, credentials as a header', () => {
    const { dir, load } = fromFile(
      [
        'cluster:',
        '  registries:',
        '    mirrors:',
        '      docker.io: ["http://cache.lan:5000", "https://mirror.lan/"]',
        '      registry.lan:5443: ["https://registry.lan:5443"]',
        '    configs:',
        '      mirror.lan: {ca: certs/ca.pem, username: me, password: "s3cret"}',
        '      registry.lan:5443: {insecureSkipVerify: true}',
        '',
      ].join('\n'),
      { 'certs/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
    );
    const { config } = load();
    expect(config.cluster.registries.configs['mirror.lan']!.ca).toBe(join(dir, 'certs', 'ca.pem'));
    const files = configuredRegistryHosts(config).flatMap(registryHostsFiles);
    expect(files.map((f) => f.path)).toEqual([
      '/etc/containerd/certs.d/docker.io/hosts.toml',
      '/etc/containerd/certs.d/docker.io/mirror.lan-ca.crt',
      '/etc/containerd/certs.d/registry.lan:5443/hosts.toml',
    ]);
    expect(files[0]!.content).toBe(
      [
        '# docker.io: written by local-cluster',
        'server = "https://registry-1.docker.io"',
        '',
        '[host."http://cache.lan:5000"]',
        '  capabilities = ["pull", "resolve"]',
        '',
        '[host."https://mirror.lan"]',
        '  capabilities = ["pull", "resolve"]',
        '  ca = "/etc/containerd/certs.d/docker.io/mirror.lan-ca.crt"',
        '',
        '[host."https://mirror.lan".header]',
        `  Authorization = "Basic ${Buffer.from('me:s3cret').toString('base64')}"`,
        '',
      ].join('\n'),
    );
    expect(files[1]!.content).toContain('BEGIN CERTIFICATE');
    expect(files[2]!.content).toBe(
      [
        '# registry.lan:5443: written by local-cluster',
        'server = "https://registry.lan:5443"',
        'skip_verify = true',
        '',
        '[host."https://registry.lan:5443"]',
        '  capabilities = ["pull", "resolve"]',
        '  skip_verify = true',
        '',
      ].join('\n'),
    );
  });

  it('gives what an addon attaches to the network an address no node, hollow-node container or kwok takes', () => {
    for (const subnet of ['10.192.0.0/16', '10.200.0.0/24']) {
      const { config } = loadConfig({ env: {}, flags: { 'dind-subnet': subnet, 'num-nodes': '50', 'control-planes': '3' } });
      const taken = new Set([...planNodes(config).nodes.map((n) => n.address), planNodes(config).loadBalancer?.address, fakeNodesAddress(config), ...Array.from({ length: 40 }, (_, c) => hollowAddress(config, c))]);
      expect(taken.has(attachedAddress(config)), `${subnet}: ${attachedAddress(config)}`).toBe(false);
    }
  });
});
