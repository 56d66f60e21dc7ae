import { describe, expect, it } from 'vitest';
import { goBinaryProblems } from '../../src/images/recipe.js';
import { inTreeReplaces, majorMatches } from '../../src/images/go.js';

describe('Go module builds: in-tree replaces', () => {
  it('finds the in-tree replaces of a go.mod (block and single-line forms, ./ and ../)', () => {
    const goMod = `module k8s.io/kubernetes\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/client-go v0.0.0 => ./staging/src/k8s.io/client-go\n\tgithub.com/x/y => github.com/x/y v1.0.0\n)\nreplace go.etcd.io/etcd/api/v3 => ../api\n`;
    expect(inTreeReplaces(goMod)).toEqual(['k8s.io/api', 'k8s.io/client-go', 'go.etcd.io/etcd/api/v3']);
    // a nested module replacing its parent (sigs.k8s.io/gateway-api/conformance)
    expect(inTreeReplaces('module sigs.k8s.io/gateway-api/conformance\n\nreplace sigs.k8s.io/gateway-api => ../\n')).toEqual(['sigs.k8s.io/gateway-api']);
  });

  it('refuses a malformed inTreeReplacesAt and a non-boolean test', () => {
    expect(goBinaryProblems({ module: 'a.b/c', version: 'v1.0.0', binary: 'x', inTreeReplacesAt: 'latest', test: 'yes' })).toEqual([
      'inTreeReplacesAt: must be a Go module version such as v0.34.4',
      'test: Invalid input: expected boolean, received string',
    ]);
  });
});

describe('in-tree replaces redirected to a version', () => {
  it('only where the version fits the module path (guards like go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY are dropped)', () => {
    expect(majorMatches('go.etcd.io/etcd/api/v3', 'v3.6.4')).toBe(true);
    expect(majorMatches('go.etcd.io/etcd', 'v3.6.4')).toBe(false);
    expect(majorMatches('go.etcd.io/tests/v3', 'v3.6.4')).toBe(true);
    expect(majorMatches('k8s.io/api', 'v0.34.4')).toBe(true);
    expect(majorMatches('k8s.io/api/v2', 'v0.34.4')).toBe(false);
  });
});
