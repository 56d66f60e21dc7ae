/** Ginkgo's JSON report, reduced to what a conformance summary needs. */

interface GinkgoSpecReport {
  ContainerHierarchyTexts: string[] | null;
  LeafNodeText: string;
  LeafNodeType: string;
  State: string;
  RunTime: number;
  Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number }; FailureNodeType?: string };
}

interface GinkgoSuiteReport {
  SuiteSucceeded: boolean;
  RunTime: number;
  PreRunStats?: { TotalSpecs: number; SpecsThatWillRun: number };
  SpecReports: GinkgoSpecReport[] | null;
}

/** One test's outcome. */
export interface SpecResult {
  name: string;
  state: 'passed' | 'failed' | 'skipped' | 'pending' | 'panicked' | 'interrupted' | 'aborted' | 'timedout';
  durationMs: number;
  /** Failure message, or the reason the test skipped itself. */
  message?: string;
  /** file:line of the failure. */
  location?: string;
}

export interface SuiteResults {
  /** Tests the filters selected. */
  selected: number;
  passed: number;
  failed: number;
  /** Selected tests that skipped themselves at run time (each with its reason). */
  skipped: number;
  specs: SpecResult[];
  durationMs: number;
}

const FAILED_STATES = new Set(['failed', 'panicked', 'interrupted', 'aborted', 'timedout']);

/** The full test name as ginkgo's focus matches it: container texts and the leaf text, space-separated. */
export function specName(spec: Pick<GinkgoSpecReport, 'ContainerHierarchyTexts' | 'LeafNodeText'>): string {
  return [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].filter(Boolean).join(' ');
}

/**
 * Reads ginkgo's --json-report. Specs the filters left out are "skipped"
 * without a failure record and are not counted; a selected test that skipped
 * itself has its reason in Failure.Message. Suite-level nodes (BeforeSuite, ...)
 * count only when they fail.
 */
export function parseGinkgoReport(json: string): SuiteResults {
  const suites = JSON.parse(json) as GinkgoSuiteReport[];
  const specs: SpecResult[] = [];
  let selected = 0;
  let durationMs = 0;
  for (const suite of suites) {
    selected += suite.PreRunStats?.SpecsThatWillRun ?? 0;
    durationMs += suite.RunTime / 1e6;
    for (const spec of suite.SpecReports ?? []) {
      const isTest = spec.LeafNodeType === 'It';
      const state = spec.State as SpecResult['state'];
      if (!isTest && !FAILED_STATES.has(state)) continue;
      if (state === 'skipped' && !spec.Failure?.Message) continue;
      const loc = spec.Failure?.Location;
      specs.push({
        name: isTest ? specName(spec) : `[${spec.LeafNodeType}] ${spec.LeafNodeText || ''}`.trim(),
        state,
        durationMs: spec.RunTime / 1e6,
        ...(spec.Failure?.Message ? { message: spec.Failure.Message.trim() } : {}),
        ...(loc?.FileName ? { location: `${loc.FileName.replace(/^.*\/k8s\.io\/kubernetes@[^/]+\//, '')}:${loc.LineNumber ?? 0}` } : {}),
      });
    }
  }
  return {
    selected,
    passed: specs.filter((s) => s.state === 'passed').length,
    failed: specs.filter((s) => FAILED_STATES.has(s.state)).length,
    skipped: specs.filter((s) => s.state === 'skipped').length,
    specs,
    durationMs,
  };
}

/** Escapes text so a ginkgo focus/skip regex matches it literally. */
export function literalPattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A spec finishing, as ginkgo -v prints it: `• [FAILED] [12.345 seconds]` then the name on the next line. */
export function parseSpecLine(line: string): { state: SpecResult['state']; seconds: number } | undefined {
  const clean = line.replace(/\u001b\[[0-9;]*m/g, '').trim();
  const m = /^(•|S|P)(?: \[(FAILED|SKIPPED|PANICKED|INTERRUPTED|ABORTED|TIMEDOUT|PENDING)\])? \[([\d.]+) seconds\]$/.exec(clean);
  if (!m) return undefined;
  const word = m[2]?.toLowerCase();
  const state = (word ?? (m[1] === 'S' ? 'skipped' : m[1] === 'P' ? 'pending' : 'passed')) as SpecResult['state'];
  return { state, seconds: Number(m[3]) };
}
