import { describe, expect, it } from 'vitest';
import { literalPattern, parseGinkgoReport, parseSpecLine, specName } from '../../src/conformance/report.js';

const spec = (texts: string[], leaf: string, state: string, extra: Record<string, unknown> = {}) => ({
  ContainerHierarchyTexts: texts,
  LeafNodeText: leaf,
  LeafNodeType: 'It',
  State: state,
  RunTime: 2_500_000_000,
  ...extra,
});

describe('ginkgo JSON report', () => {
  const report = JSON.stringify([
    {
      SuiteSucceeded: false,
      RunTime: 60_000_000_000,
      PreRunStats: { TotalSpecs: 7144, SpecsThatWillRun: 4 },
      SpecReports: [
        { ContainerHierarchyTexts: null, LeafNodeText: '', LeafNodeType: 'SynchronizedBeforeSuite', State: 'passed', RunTime: 1 },
        spec(['[sig-network] DNS'], 'should provide DNS for the cluster [Conformance]', 'passed'),
        spec(['[sig-network] Services'], 'should serve endpoints on same port and different protocols [Conformance]', 'failed', {
          Failure: { Message: 'TCP still answers\nsecond line', Location: { FileName: '/root/go/pkg/mod/k8s.io/kubernetes@v1.34.4/test/e2e/network/service.go', LineNumber: 42 } },
        }),
        spec(['[sig-node] Pods'], 'needs a feature [Conformance]', 'skipped', { Failure: { Message: 'Only supported for providers [gce]' } }),
        // left out by the filters: no failure record, not counted
        spec(['[sig-apps] Job'], 'not selected', 'skipped'),
        spec(['[sig-cli] Kubectl'], 'timed out [Conformance]', 'timedout', { Failure: { Message: 'timeout' } }),
      ],
    },
  ]);

  it('counts what ran: passed, failed (any failing state), skipped with its reason; filtered specs do not count', () => {
    const r = parseGinkgoReport(report);
    expect(r).toMatchObject({ selected: 4, passed: 1, failed: 2, skipped: 1, durationMs: 60_000 });
    expect(r.specs.map((s) => s.state)).toEqual(['passed', 'failed', 'skipped', 'timedout']);
    const failed = r.specs.find((s) => s.state === 'failed')!;
    expect(failed.name).toBe('[sig-network] Services should serve endpoints on same port and different protocols [Conformance]');
    expect(failed.location).toBe('test/e2e/network/service.go:42');
    expect(failed.message).toBe('TCP still answers\nsecond line');
    expect(r.specs.find((s) => s.state === 'skipped')!.message).toBe('Only supported for providers [gce]');
  });

  it('counts a failing suite node (BeforeSuite) as a failure', () => {
    const r = parseGinkgoReport(
      JSON.stringify([{ SuiteSucceeded: false, RunTime: 1, PreRunStats: { TotalSpecs: 1, SpecsThatWillRun: 1 }, SpecReports: [
        { ContainerHierarchyTexts: null, LeafNodeText: '', LeafNodeType: 'SynchronizedBeforeSuite', State: 'failed', RunTime: 1, Failure: { Message: 'nodes not ready' } },
      ] }]),
    );
    expect(r.failed).toBe(1);
    expect(r.specs[0]!.name).toBe('[SynchronizedBeforeSuite]');
  });

  it('names specs as ginkgo focus matches them', () => {
    expect(specName({ ContainerHierarchyTexts: ['[sig-network] DNS', 'inner'], LeafNodeText: 'leaf' })).toBe('[sig-network] DNS inner leaf');
  });
});

describe('focus as a literal substring', () => {
  it('escapes regex syntax so "[sig-network]" is not a character class', () => {
    const re = new RegExp(literalPattern('[sig-network] (a.b)'));
    expect(re.test('x [sig-network] (a.b) y')).toBe(true);
    expect(re.test('s')).toBe(false);
  });
});

describe('ginkgo -v spec lines', () => {
  it('reads state and duration', () => {
    expect(parseSpecLine('• [12.345 seconds]')).toEqual({ state: 'passed', seconds: 12.345 });
    expect(parseSpecLine('• [FAILED] [3.100 seconds]')).toEqual({ state: 'failed', seconds: 3.1 });
    expect(parseSpecLine('S [SKIPPED] [0.001 seconds]')).toEqual({ state: 'skipped', seconds: 0.001 });
    expect(parseSpecLine('\u001b[38;5;10m• [1.000 seconds]\u001b[0m')).toEqual({ state: 'passed', seconds: 1 });
    expect(parseSpecLine('STEP: Creating a pod')).toBeUndefined();
  });
});

describe('the test name on ginkgo -v lines', () => {
  it('drops the failing-node marker and the label list', async () => {
    const { printedSpecName } = await import('../../src/conformance/suite.js');
    const known = ['[sig-network] HostPort validates that there is no conflict [LinuxOnly] [Conformance]'];
    expect(printedSpecName('[sig-network] HostPort [It] validates that there is no conflict [LinuxOnly] [Conformance] [sig-network, Conformance]', known)).toBe(known[0]);
    expect(printedSpecName('[sig-x] Unknown test [Conformance] [sig-x, Conformance]', known)).toBe('[sig-x] Unknown test [Conformance]');
  });
});

describe('known test names on ginkgo lines', () => {
  it('matches a line to a selected test, or nothing', async () => {
    const { knownSpecName } = await import('../../src/conformance/suite.js');
    const known = ['[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance]'];
    expect(knownSpecName('[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance] [sig-api-machinery, Serial, Conformance]', known)).toBe(known[0]);
    expect(knownSpecName('------------------------------', known)).toBeUndefined();
  });
});
