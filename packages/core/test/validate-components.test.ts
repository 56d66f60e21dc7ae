import { describe, expect, it } from 'vitest';
import { configSchema, hasComponentSettings, newProblems, stopReason } from '../src/index.js';

describe('checking component flags with the binaries', () => {
  it('reads why a component stopped: klog "command failed", cobra "Error:", else the last line', () => {
    const klog = 'W1124 23:40:50 client_config.go:672] warning\nE1124 23:40:50.218919 30003 run.go:72] "command failed" err="unrecognized feature gate: Nope"\n';
    expect(stopReason(klog)).toBe('unrecognized feature gate: Nope');
    expect(stopReason('E1124 run.go:72] "command failed" err="failed to parse kubelet flag: invalid argument \\"abc\\" for \\"--max-pods\\" flag"')).toBe(
      'failed to parse kubelet flag: invalid argument "abc" for "--max-pods" flag',
    );
    expect(stopReason('Error: unknown flag: --bogus\nUsage:\n  kube-apiserver [flags]\n')).toBe('unknown flag: --bogus');
    expect(stopReason('something\nlast words\n')).toBe('last words');
  });

  it('counts only what the flags add to the baseline failure of a component run without its required flags', () => {
    const baseline = '[--etcd-servers must be specified, service-account-issuer is a required flag, either `--service-account-key-file` or `--service-account-signing-endpoint` must be set]';
    expect(newProblems(baseline, baseline)).toEqual([]);
    const withBadGroup = '[--etcd-servers must be specified, service-account-issuer is a required flag, either `--service-account-key-file` or `--service-account-signing-endpoint` must be set, unknown api groups nonsense.io]';
    expect(newProblems(baseline, withBadGroup)).toEqual(['unknown api groups nonsense.io']);
    expect(newProblems('invalid configuration: no configuration has been provided', 'unrecognized feature gate: Nope')).toEqual(['unrecognized feature gate: Nope']);
    // a component the flags got further (it was still running when stopped) is fine
    expect(newProblems('invalid configuration: no configuration has been provided', '')).toEqual([]);
  });

  it('runs the binaries only when the config sets something they judge', () => {
    expect(hasComponentSettings(configSchema.parse({}))).toBe(false);
    expect(hasComponentSettings(configSchema.parse({ cluster: { controlPlane: { labels: { a: 'b' } } } }))).toBe(false);
    expect(hasComponentSettings(configSchema.parse({ cluster: { featureGates: { A: true } } }))).toBe(true);
    expect(hasComponentSettings(configSchema.parse({ cluster: { componentArgs: { kubelet: { 'max-pods': '5' } } } }))).toBe(true);
    expect(hasComponentSettings(configSchema.parse({ cluster: { kubeadmPatches: [{ kind: 'KubeletConfiguration', merge: {} }] } }))).toBe(true);
  });
});
