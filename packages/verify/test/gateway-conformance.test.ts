import { describe, expect, it } from 'vitest';
import { recipeProblems } from '@local-cluster/core';
import { echoBasicImages, echoBasicRefs, gatewayConformanceBinary, gatewayJunit, parseGoTestLines } from '../src/conformance/gateway.js';

describe('Gateway API conformance', () => {
  it('builds the conformance module at the release, its ../ replace taken from the proxy', () => {
    expect(gatewayConformanceBinary('v1.6.1')).toMatchObject({ module: 'sigs.k8s.io/gateway-api/conformance', version: 'v1.6.1', test: true, inTreeReplacesAt: 'v1.6.1' });
  });

  it('makes one echo-basic image per name the suite uses', async () => {
    const refs = await echoBasicRefs('v1.6.1');
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.every((r) => /\/echo-basic:v/.test(r))).toBe(true);
    for (const image of echoBasicImages('v1.6.1', refs)) expect(recipeProblems(image.recipe)).toEqual([]);
  }, 60_000);

  it('reads per-test results from go test -v and writes them as JUnit', () => {
    const out = [
      '=== RUN   TestConformance/HTTPRouteSimpleSameNamespace',
      '    --- PASS: TestConformance/HTTPRouteSimpleSameNamespace (1.50s)',
      '    --- SKIP: TestConformance/HTTPRouteMultipleGateways (0.00s)',
      '    --- FAIL: TestConformance/HTTPRouteHostnameIntersection (12.00s)',
      '--- FAIL: TestConformance (40.00s)',
    ].join('\n');
    const tests = parseGoTestLines(out);
    expect(tests.map((t) => `${t.state} ${t.name} ${t.durationMs}`)).toEqual(['passed HTTPRouteSimpleSameNamespace 1500', 'skipped HTTPRouteMultipleGateways 0', 'failed HTTPRouteHostnameIntersection 12000']);
    const junit = gatewayJunit({ tests, failed: 1, skipped: 1, durationMs: 40_000 });
    expect(junit).toContain('<testsuite name="gateway-api-conformance" tests="3" failures="1" skipped="1" time="40.000">');
    expect(junit).toContain('<testcase name="HTTPRouteMultipleGateways" classname="gateway-api-conformance" time="0.000"><skipped/></testcase>');
  });
});
