import { describe, expect, it } from 'vitest';
import { netcheckCaseNames, selectCases } from '../../src/index.js';

describe('netcheck cases', () => {
  it('refuses unknown case names, naming them and the known ones', () => {
    expect(() => selectCases(['clusterip', 'nope'])).toThrow(/Unknown netcheck case: nope/);
    try {
      selectCases(['nope']);
    } catch (e) {
      expect((e as { hint: string }).hint).toContain('pod-to-pod');
    }
  });

  it('keeps the canonical order whatever order they are named in', () => {
    expect(selectCases(['terminating', 'pod-to-pod']).map((c) => c.name)).toEqual(['pod-to-pod', 'terminating']);
    expect(selectCases([]).map((c) => c.name)).toEqual(netcheckCaseNames());
  });
});
