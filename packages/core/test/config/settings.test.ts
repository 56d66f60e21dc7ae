import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_ENV, HOME_ENV, coerceText, configJsonSchema } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import {
  ENV_PREFIX,
  envNameForFlag,
  formatDefault,
  listSettings,
  settingByFlag,
  settingByPath,
} from '../../src/config/settings.js';

describe('settings derived from the schema', () => {
  const settings = listSettings();

  it('lists every leaf of the schema', () => {
    expect(settings.map((s) => s.path)).toEqual([
      'verbose',
      'dind.subnet',
      'dind.subnet6',
      'dind.network',
      'dind.privileged',
      'source.kubernetesVersion',
      'source.buildKubeadm',
      'source.buildHyperkube',
      'source.buildKubectl',
      'source.k8sDir',
      'source.binDir',
      'source.kubeadmUrl',
      'source.kubeadmSha1',
      'source.hyperkubeUrl',
      'source.hyperkubeSha1',
      'source.kubectlUrl',
      'source.kubectlSha1',
      'cluster.name',
      'cluster.mode',
      'cluster.numNodes',
      'cluster.controlPlanes',
      'cluster.hollowNodes',
      'cluster.hollowNodesOn',
      'cluster.hollowNodesContext',
      'cluster.hollowNodesRegistry',
      'cluster.fakeNodes',
      'cluster.cniPlugin',
      'cluster.podSubnet',
      'cluster.serviceSubnet',
      'cluster.ipFamily',
      'cluster.podSubnet6',
      'cluster.serviceSubnet6',
      'cluster.noDedicated',
      'cluster.apiServerPort',
      'cluster.apiServerAddress',
      'cluster.kubeProxyMode',
      'cluster.featureGates',
      'cluster.runtimeConfig',
      'cluster.componentArgs',
      'cluster.kubeadmPatches',
      'cluster.controlPlane',
      'cluster.workers',
      'cluster.registry',
      'cluster.registryPort',
      'cluster.registries',
      'cluster.ingress.httpPort',
      'cluster.ingress.httpsPort',
      'cluster.ingress.gatewayApiVersion',
      'cluster.addons',
      'e2e.parallelism',
    ]);
  });

  it('gives every setting but the structured ones a flag and a LOCAL_CLUSTER_ env var, and each a description', () => {
    for (const s of settings) {
      if (s.type === 'structured') {
        expect(s.flag, s.path).toBeUndefined();
        expect(s.env, s.path).toBeUndefined();
        expect(s.description.trim().length, s.path).toBeGreaterThan(10);
        continue;
      }
      expect(s.flag, s.path).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(s.env, s.path).toBe(envNameForFlag(s.flag!));
      expect(s.env!.startsWith(ENV_PREFIX), s.path).toBe(true);
      expect(s.env, s.path).toMatch(/^LOCAL_CLUSTER_[A-Z0-9_]+$/);
      expect(s.description.trim().length, s.path).toBeGreaterThan(10);
      expect(s.keys.join('.')).toBe(s.path);
    }
  });

  it('has unique flags and env names that do not clash with the file and home variables', () => {
    const flags = settings.flatMap((s) => (s.flag ? [s.flag] : []));
    const envs = settings.flatMap((s) => (s.env ? [s.env] : []));
    expect(new Set(flags).size).toBe(flags.length);
    expect(new Set(envs).size).toBe(envs.length);
    expect(envs).not.toContain(CONFIG_FILE_ENV);
    expect(envs).not.toContain(HOME_ENV);
  });

  it('knows each setting type, enum choices and defaults', () => {
    expect(settingByPath('cluster.numNodes')).toMatchObject({ type: 'integer', defaultValue: 2, flag: 'num-nodes' });
    expect(settingByPath('cluster.noDedicated')).toMatchObject({ type: 'boolean', defaultValue: false });
    expect(settingByPath('cluster.addons')).toMatchObject({ type: 'list', defaultValue: ['storage', 'metrics-server', 'dashboard'] });
    expect(settingByPath('dind.privileged')).toMatchObject({ type: 'enum', choices: ['auto', 'always', 'never'] });
    expect(settingByPath('source.k8sDir')).toMatchObject({ type: 'string', defaultValue: undefined });
    expect(settingByFlag('num-nodes')?.path).toBe('cluster.numNodes');
    expect(settingByFlag('nope')).toBeUndefined();
    expect(settingByPath('cluster')).toBeUndefined();
  });

  it('formats defaults for help', () => {
    expect(formatDefault(settingByPath('cluster.numNodes')!)).toBe('2');
    expect(formatDefault(settingByPath('cluster.addons')!)).toBe('storage,metrics-server,dashboard');
    expect(formatDefault(settingByPath('source.binDir')!)).toBe('(unset)');
    expect(formatDefault(settingByPath('source.k8sDir')!)).toBe('current directory');
    expect(formatDefault(settingByPath('cluster.apiServerPort')!)).toBe('random free port');
  });

  it('envNameForFlag upper-cases and turns dashes into underscores', () => {
    expect(envNameForFlag('num-nodes')).toBe('LOCAL_CLUSTER_NUM_NODES');
    expect(envNameForFlag('apiserver-port')).toBe('LOCAL_CLUSTER_APISERVER_PORT');
  });

  it('configJsonSchema describes every setting path', () => {
    const schema = configJsonSchema();
    expect(schema.title).toBe('local-cluster config');
    for (const s of settings) {
      let node = schema as { properties?: Record<string, unknown> };
      for (const key of s.keys) {
        expect(node.properties, `${s.path}: no properties at ${key}`).toBeDefined();
        expect(Object.keys(node.properties!), s.path).toContain(key);
        node = node.properties![key] as typeof node;
      }
      expect((node as { description?: string }).description, s.path).toBe(s.description);
    }
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('the schema rejects unknown keys at every level', () => {
    expect(configSchema.safeParse({ nope: 1 }).success).toBe(false);
    expect(configSchema.safeParse({ cluster: { nope: 1 } }).success).toBe(false);
    expect(configSchema.safeParse({}).success).toBe(true);
  });
});

describe('coerceText', () => {
  const numNodes = settingByPath('cluster.numNodes')!;
  const flag = settingByPath('cluster.noDedicated')!;
  const addons = settingByPath('cluster.addons')!;

  it('turns numeric text into numbers and leaves the rest for the schema to reject', () => {
    expect(coerceText(numNodes, '3')).toBe(3);
    expect(coerceText(numNodes, '+3')).toBe(3);
    expect(coerceText(numNodes, '-1')).toBe(-1);
    expect(coerceText(numNodes, '1.5')).toBe(1.5);
    expect(coerceText(numNodes, 'two')).toBe('two');
    expect(coerceText(numNodes, '')).toBe('');
  });

  it('passes booleans through and reads boolean words', () => {
    expect(coerceText(flag, true)).toBe(true);
    expect(coerceText(flag, 'Yes')).toBe(true);
    expect(coerceText(flag, 'nope')).toBe('nope');
  });

  it('splits lists on commas', () => {
    expect(coerceText(addons, ' a ,b,, c')).toEqual(['a', 'b', 'c']);
    expect(coerceText(addons, '')).toEqual([]);
  });
});
