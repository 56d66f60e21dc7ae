import { describe, expect, it } from 'vitest';
import { type NodeE2eReport } from '@local-cluster/verify';
import { nodeE2eSummary, parseTimeoutMinutes, printNodeE2e } from '../src/commands/e2e-node.js';

const report: NodeE2eReport = {
  cluster: 'ne-x',
  kubernetesVersion: 'v1.34.4',
  nodeImage: 'local-cluster/node:v1.34.4',
  labelFilter: 'NodeConformance && !Serial && !Flaky && !Slow',
  focus: 'Pods',
  parallelism: 4,
  selected: 5,
  passed: 3,
  failed: 1,
  skipped: 1,
  durationMs: 125_000,
  failures: [{ name: '[sig-node] Pods should x', state: 'failed', durationMs: 1, message: 'boom', location: 'test/e2e/common/node/pods.go:10' }],
  skips: [{ name: '[sig-node] Pods should y', state: 'skipped', durationMs: 0, message: 'Only supported for providers [gce]' }],
  leftOut: [{ name: '[sig-node] Container Runtime ... should be able to pull image', why: 'no registry' }],
  specs: [],
  unbuildableImages: [],
  reportDir: '/r',
  junit: '/r/report/junit.xml',
  log: '/r/e2e-node.log',
};

function printed(r: NodeE2eReport): string {
  let text = '';
  printNodeE2e(r, { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream);
  return text;
}

describe('e2e-node output', () => {
  it('ends with one honest summary line: passed, failed, skipped of the selected, the filters, the time', () => {
    expect(nodeE2eSummary(report)).toBe(
      'Kubernetes v1.34.4 node e2e (labels "NodeConformance && !Serial && !Flaky && !Slow", focus "Pods"): 3 passed, 1 failed, 1 skipped of 5 in 2m05s (4 in parallel)',
    );
    const text = printed(report);
    expect(text).toContain('✗ [sig-node] Pods should x\n      at test/e2e/common/node/pods.go:10\n      boom');
    expect(text).toContain('- [sig-node] Pods should y: Only supported for providers [gce]');
    expect(text).toContain('Left out (this machine cannot give them what they need; --no-default-skips runs them):');
    expect(text).toContain('Reports: /r/report/junit.xml · log /r/e2e-node.log');
  });

  it('--list prints the names and the count, and what is left out', () => {
    const text = printed({ ...report, tests: ['a', 'b'], selected: 2 });
    expect(text).toContain('a\nb\n2 test(s) of Kubernetes v1.34.4');
    expect(text).toContain('Left out');
    expect(text).not.toContain('passed');
  });

  it('--timeout takes whole minutes and names itself when wrong', () => {
    expect(parseTimeoutMinutes(undefined)).toBeUndefined();
    expect(parseTimeoutMinutes('90')).toBe(90);
    for (const bad of ['0', '1.5', '5m', 'abc', '2000']) expect(() => parseTimeoutMinutes(bad)).toThrow(`--timeout ${bad} is not a number of minutes from 1 to 1440.`);
  });
});
