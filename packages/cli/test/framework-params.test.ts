import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readParams } from '../src/framework/index.js';

describe('test framework parameters', () => {
  it('reads a YAML file, then LOCAL_CLUSTER_TEST_* variables, then --param flags, later ones winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-params-'));
    const file = join(dir, 'params.yaml');
    writeFileSync(file, 'driver-image: my/csi:1\nreplicas: 3\nregion: file\n');
    const params = readParams({ env: { LOCAL_CLUSTER_TEST_PARAMS: file, LOCAL_CLUSTER_TEST_REGION: 'env', LOCAL_CLUSTER_TEST_STORAGE_CLASS: 'fast' }, argv: ['node', 'x', '--param', 'replicas=5', '--param=extra=a=b'] });
    expect(params).toEqual({ 'driver-image': 'my/csi:1', replicas: '5', region: 'env', 'storage-class': 'fast', extra: 'a=b' });
  });

  it('still reads the LOCAL_CLUSTER_E2E_* names of before, below the new ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-params-'));
    const file = join(dir, 'params.yaml');
    writeFileSync(file, 'zone: old-file\n');
    expect(readParams({ env: { LOCAL_CLUSTER_E2E_PARAMS: file, LOCAL_CLUSTER_E2E_REGION: 'old', LOCAL_CLUSTER_E2E_TIER: 'old', LOCAL_CLUSTER_TEST_TIER: 'new' }, argv: [] })).toEqual({ zone: 'old-file', region: 'old', tier: 'new' });
  });

  it('names the file or flag that is wrong', () => {
    expect(() => readParams({ env: { LOCAL_CLUSTER_TEST_PARAMS: '/nonexistent/p.yaml' }, argv: [] })).toThrow(/parameters file \/nonexistent\/p\.yaml does not exist/);
    const dir = mkdtempSync(join(tmpdir(), 'lc-params-'));
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    expect(() => readParams({ paramsFile: join(dir, 'list.yaml'), env: {}, argv: [] })).toThrow(/must be a mapping/);
    expect(() => readParams({ env: {}, argv: ['--param', 'novalue'] })).toThrow(/--param novalue must be name=value/);
  });
});
