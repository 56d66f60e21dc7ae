import { describe, expect, it } from 'vitest';
import { isDriverError, LABELS } from '@local-cluster/core';
import { assertOwned, describeSelector, labelFilters, matchesSelector, ownedLabels, selectorLabels } from '../../src/labels.js';

describe('ownership labels', () => {
  it('adds managed=true and a default role, keeping the caller role', () => {
    expect(ownedLabels({ [LABELS.cluster]: 'c' }, 'node')).toEqual({
      [LABELS.cluster]: 'c',
      [LABELS.role]: 'node',
      [LABELS.managed]: 'true',
    });
    expect(ownedLabels({ [LABELS.role]: 'test' }, 'image')[LABELS.role]).toBe('test');
  });

  it('never lets a caller mark an object unmanaged', () => {
    expect(ownedLabels({ [LABELS.managed]: 'false' }, 'volume')[LABELS.managed]).toBe('true');
  });
});

describe('selectors', () => {
  it('always require managed=true; cluster, role and extra labels when given', () => {
    expect(labelFilters({})).toEqual([`${LABELS.managed}=true`]);
    expect(labelFilters({ cluster: 'dev', role: 'snapshot', labels: { a: 'b' } }).sort()).toEqual(
      [`${LABELS.managed}=true`, `${LABELS.cluster}=dev`, `${LABELS.role}=snapshot`, 'a=b'].sort(),
    );
  });

  it('use the default role only when the selector has none', () => {
    expect(selectorLabels({}, 'node')[LABELS.role]).toBe('node');
    expect(selectorLabels({ role: 'test' }, 'node')[LABELS.role]).toBe('test');
  });

  it('match only objects carrying every wanted label', () => {
    const labels = { [LABELS.managed]: 'true', [LABELS.cluster]: 'dev', [LABELS.role]: 'node' };
    expect(matchesSelector(labels, {})).toBe(true);
    expect(matchesSelector(labels, { cluster: 'dev' })).toBe(true);
    expect(matchesSelector(labels, { cluster: 'prod' })).toBe(false);
    expect(matchesSelector(labels, { cluster: 'dev', role: 'volume' })).toBe(false);
    expect(matchesSelector(labels, { labels: { x: 'y' } })).toBe(false);
    expect(matchesSelector({ [LABELS.cluster]: 'dev' }, { cluster: 'dev' })).toBe(false);
    expect(matchesSelector(null, {})).toBe(false);
    expect(matchesSelector(labels, {}, 'image')).toBe(false);
  });

  it('describe themselves for refusal messages', () => {
    expect(describeSelector({ cluster: 'dev' })).toBe(`${LABELS.managed}=true, ${LABELS.cluster}=dev`);
  });
});

describe('assertOwned', () => {
  const ours = { [LABELS.managed]: 'true', [LABELS.cluster]: 'dev', [LABELS.role]: 'volume' };

  it('passes objects the selector owns', () => {
    expect(() => assertOwned('remove volume v', 'volume', ours, { cluster: 'dev' })).not.toThrow();
  });

  it('refuses others with a DriverError that says why', () => {
    let error: unknown;
    try {
      assertOwned('remove volume v', 'volume', {}, { cluster: 'dev' });
    } catch (e) {
      error = e;
    }
    expect(isDriverError(error)).toBe(true);
    expect((error as Error).message).toContain('remove volume v: refusing');
    expect((error as { hint?: string }).hint).toMatch(/not created by local-cluster/);
    expect(() => assertOwned('remove volume v', 'volume', ours, { cluster: 'prod' })).toThrow(/another cluster|refusing/);
  });
});
